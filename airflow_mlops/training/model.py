"""The network: a built-in tabular MLP, or any ``torch.nn.Module`` from a user's factory.

Extension point: set ``model_factory="my_pkg.models:build"`` in the training params. The factory
is called as ``build(model_config)`` where ``model_config`` is a JSON-able dict holding
``n_inputs``, ``n_outputs``, ``task`` and the built-in MLP's settings, plus the user's
``model_kwargs`` merged in. It must return a module whose ``forward`` takes the preprocessed
float32 tensor ``[N, n_inputs]`` and returns logits ``[N, n_outputs]``. The same dict is saved in
the checkpoint, so :meth:`~airflow_mlops.training.checkpoint.Checkpoint.build_model` rebuilds
the network with the same call (the factory's module must be importable where it is loaded).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from airflow_mlops.errors import ConfigError

if TYPE_CHECKING:
    import torch

    from airflow_mlops.training.config import TrainingConfig
    from airflow_mlops.training.preprocessing import Preprocessor

DEFAULT_FACTORY = "airflow_mlops.training.model:build_mlp"


def model_config_for(config: TrainingConfig, preprocessor: Preprocessor) -> dict[str, Any]:
    """The dict a factory receives: input/output sizes, task, MLP settings, ``model_kwargs``."""
    return {
        "n_inputs": preprocessor.n_inputs,
        "n_outputs": preprocessor.n_outputs,
        "task": preprocessor.task,
        "hidden_layers": list(config.hidden_layers),
        "dropout": float(config.dropout),
        "batch_norm": bool(config.batch_norm),
        **config.model_kwargs,
    }


def build_mlp(model_config: dict[str, Any]) -> torch.nn.Module:
    """Linear -> [BatchNorm] -> ReLU -> [Dropout] per hidden layer, then a linear head."""
    from torch import nn

    layers: list[nn.Module] = []
    width = int(model_config["n_inputs"])
    for hidden in model_config.get("hidden_layers", []):
        layers.append(nn.Linear(width, int(hidden)))
        if model_config.get("batch_norm", False):
            layers.append(nn.BatchNorm1d(int(hidden)))
        layers.append(nn.ReLU())
        if model_config.get("dropout", 0.0) > 0:
            layers.append(nn.Dropout(float(model_config["dropout"])))
        width = int(hidden)
    layers.append(nn.Linear(width, int(model_config["n_outputs"])))
    return nn.Sequential(*layers)


def resolve_factory(path: str | None) -> Callable[[dict[str, Any]], torch.nn.Module]:
    """Import ``"package.module:function"`` (``None`` = :func:`build_mlp`)."""
    module_name, _, attribute = (path or DEFAULT_FACTORY).partition(":")
    try:
        factory = getattr(importlib.import_module(module_name), attribute)
    except (ImportError, AttributeError) as error:
        raise ConfigError(
            f"Cannot import model_factory {path!r}: {error}.",
            hint="Install the package that defines it in the training image (and on the "
            "machine that loads the checkpoint), or fix the 'module:function' path.",
        ) from error
    if not callable(factory):
        raise ConfigError(
            f"model_factory {path!r} is a {type(factory).__name__}, not a function.",
            hint="Point model_factory at a function that takes the model config dict and "
            "returns a torch.nn.Module.",
        )
    return factory


def build_model(factory_path: str | None, model_config: dict[str, Any]) -> torch.nn.Module:
    """Call the factory and check that it returned a ``torch.nn.Module``."""
    from torch import nn

    model = resolve_factory(factory_path)(dict(model_config))
    if not isinstance(model, nn.Module):
        raise ConfigError(
            f"model_factory {factory_path!r} returned {type(model).__name__}, "
            "not a torch.nn.Module.",
            hint="Return the network itself (a torch.nn.Module) from the factory, not its "
            "class, a tuple or None.",
        )
    return model
