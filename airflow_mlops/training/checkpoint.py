"""The training output directory: model.pt, metrics.json, config.json, each written atomically.

``model.pt`` holds only tensors and plain values, so it loads with ``weights_only=True`` (no
pickled code runs on load). It also records the ``model_factory`` and ``model_kwargs`` that
rebuild the net. The file never chooses the code that is imported and called: the loader names
the factory it trusts (``load_checkpoint(dir, model_factory="my_pkg.models:build")``; the
default, None, trusts only the built-in MLP) and a checkpoint naming another one is refused.
``metrics.json`` is written last: its presence means the run finished.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from airflow_mlops.artifacts import atomic_write_bytes, atomic_write_json
from airflow_mlops.errors import TrainingError
from airflow_mlops.training.model import build_model
from airflow_mlops.training.preprocessing import Preprocessor

if TYPE_CHECKING:
    import torch

MODEL_FILE = "model.pt"
METRICS_FILE = "metrics.json"
CONFIG_FILE = "config.json"


@dataclass(frozen=True)
class Checkpoint:
    """A loaded training output: weights, preprocessing, how to rebuild the net, metrics."""

    directory: Path
    state_dict: dict[str, torch.Tensor]
    preprocessor: Preprocessor
    model_config: dict[str, Any]
    model_factory: str | None
    metrics: dict[str, Any]
    config: dict[str, Any]
    model_kwargs: dict[str, Any] = field(default_factory=dict)

    def build_model(self) -> torch.nn.Module:
        """The network with its trained weights, in eval mode, on the CPU.

        :raises ConfigError: the recorded factory does not import here (install its package).
        """
        model = build_model(self.model_factory, self.model_config)
        try:
            model.load_state_dict(self.state_dict)
        except RuntimeError as error:
            raise TrainingError(
                f"The weights in {self.directory / MODEL_FILE} do not fit the network built by "
                f"{self.model_factory or 'the built-in MLP'}: {error}",
                hint="Load it with the same model_factory version that trained it.",
            ) from error
        return model.eval()


def save_checkpoint(
    directory: str | Path,
    *,
    state_dict: dict[str, torch.Tensor],
    preprocessor: Preprocessor,
    model_config: dict[str, Any],
    model_factory: str | None,
    config: dict[str, Any],
    metrics: dict[str, Any],
    model_kwargs: dict[str, Any] | None = None,
) -> Path:
    """Write the three files of the contract into ``directory`` (metrics.json last).

    :param model_kwargs: the user's factory kwargs (already merged into ``model_config``);
        None = the ``model_kwargs`` of ``config``.
    """
    import torch

    target = Path(directory)
    payload = {
        "state_dict": {k: v.detach().cpu().clone() for k, v in state_dict.items()},
        "preprocessing": preprocessor.to_dict(),
        "model_config": model_config,
        "model_factory": model_factory,
        "model_kwargs": dict(
            model_kwargs if model_kwargs is not None else config.get("model_kwargs") or {}
        ),
    }
    buffer = io.BytesIO()
    torch.save(payload, buffer)
    atomic_write_bytes(target / MODEL_FILE, buffer.getvalue())
    atomic_write_json(target / CONFIG_FILE, config)
    atomic_write_json(target / METRICS_FILE, metrics)
    return target


def load_checkpoint(path: str | Path, *, model_factory: str | None = None) -> Checkpoint:
    """Load a training output directory (or its model.pt) safely, with ``weights_only=True``.

    :param model_factory: the factory the caller trusts to rebuild the net (the one the model was
        trained with, from your config); None (default) = only the built-in MLP. A checkpoint
        naming another one is refused, so a file can never make the loader import its code.
    """
    import torch

    location = Path(path)
    directory = location.parent if location.name == MODEL_FILE else location
    model_file = directory / MODEL_FILE
    if not model_file.is_file():
        raise TrainingError(
            f"No checkpoint at {str(model_file)!r}.",
            hint="Pass the output directory of a finished training run (it holds model.pt).",
        )
    try:
        payload = torch.load(model_file, map_location="cpu", weights_only=True)
    except Exception as error:  # torch raises UnpicklingError, RuntimeError, EOFError, ...
        raise TrainingError(
            f"Cannot load {str(model_file)!r} as a weights-only checkpoint: {error}",
            hint="The file is corrupt or was not written by airflow_mlops.training.",
        ) from error
    if payload.get("model_factory") != model_factory:
        raise TrainingError(
            f"{str(model_file)!r} names model_factory {payload.get('model_factory')!r}, but "
            f"{model_factory!r} was expected: rebuilding the net would import and call code "
            "chosen by the file.",
            hint="If you trust that factory (the one the model was trained with), pass it: "
            "load_checkpoint(..., model_factory=...) or ExportOnnxOperator(model_factory=...).",
        )
    return Checkpoint(
        directory=directory,
        state_dict=payload["state_dict"],
        preprocessor=Preprocessor.from_dict(payload["preprocessing"]),
        model_config=payload["model_config"],
        model_factory=payload["model_factory"],
        metrics=_read_json(directory / METRICS_FILE),
        config=_read_json(directory / CONFIG_FILE),
        model_kwargs=dict(payload.get("model_kwargs") or {}),
    )


def _read_json(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
