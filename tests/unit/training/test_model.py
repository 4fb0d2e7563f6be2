from __future__ import annotations

from typing import Any

import pytest
import torch

from airflow_mlops.errors import ConfigError
from airflow_mlops.training.model import build_mlp, build_model, resolve_factory


def build_linear(model_config: dict[str, Any]) -> torch.nn.Module:
    """A user factory: one linear layer, with an extra width from model_kwargs."""
    return torch.nn.Linear(model_config["n_inputs"], model_config["n_outputs"])


def build_exploding(model_config: dict[str, Any]) -> torch.nn.Module:
    """A user factory whose outputs overflow float32 once squared (a net that diverges)."""
    linear = torch.nn.Linear(model_config["n_inputs"], model_config["n_outputs"])
    with torch.no_grad():
        linear.bias.fill_(1e30)
    return linear


def not_a_module(model_config: dict[str, Any]) -> str:
    return "oops"


@pytest.mark.parametrize("batch_norm", [True, False])
def test_mlp_shapes_and_layers(batch_norm: bool) -> None:
    config = {"n_inputs": 7, "n_outputs": 3, "hidden_layers": [16, 8], "dropout": 0.2}
    model = build_mlp({**config, "batch_norm": batch_norm})
    kinds = [type(layer).__name__ for layer in model]
    assert kinds.count("Linear") == 3
    assert kinds.count("Dropout") == 2
    assert kinds.count("BatchNorm1d") == (2 if batch_norm else 0)
    assert model.eval()(torch.zeros(5, 7)).shape == (5, 3)


def test_default_factory_is_the_mlp() -> None:
    assert resolve_factory(None) is build_mlp


def test_user_factory_by_path() -> None:
    model = build_model(f"{__name__}:build_linear", {"n_inputs": 4, "n_outputs": 1})
    assert isinstance(model, torch.nn.Linear)


def test_factory_errors_are_clear() -> None:
    with pytest.raises(
        ConfigError, match=r"Cannot import model_factory 'no_such_pkg\.models:build'"
    ):
        resolve_factory("no_such_pkg.models:build")
    with pytest.raises(ConfigError, match=r"returned str, not a torch\.nn\.Module"):
        build_model(f"{__name__}:not_a_module", {"n_inputs": 4, "n_outputs": 1})
