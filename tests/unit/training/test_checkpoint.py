from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import torch

from airflow_mlops.errors import ConfigError, TrainingError
from airflow_mlops.training.checkpoint import load_checkpoint
from airflow_mlops.training.config import TrainingConfig
from airflow_mlops.training.loop import train

QUIET = {"log": lambda line: None}


@pytest.fixture(scope="module")
def trained(cancer: pd.DataFrame, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("ckpt")
    train(
        cancer,
        TrainingConfig(label="malignant", max_epochs=6, hidden_layers=(16,), learning_rate=0.01),
        out,
        **QUIET,
    )
    return out


def test_output_directory_follows_the_contract(trained: Path) -> None:
    assert sorted(p.name for p in trained.iterdir()) == ["config.json", "metrics.json", "model.pt"]
    payload = torch.load(trained / "model.pt", weights_only=True)
    assert set(payload) == {
        "state_dict",
        "preprocessing",
        "model_config",
        "model_factory",
        "model_kwargs",
    }
    assert payload["model_factory"] is None
    assert payload["model_config"]["n_inputs"] == 34
    assert set(payload["preprocessing"]) == {
        "numeric_columns", "categorical_columns", "mean", "std", "categories", "label", "task",
        "classes", "target_mean", "target_std",
    }  # fmt: skip
    metrics = json.loads((trained / "metrics.json").read_text())
    for key in ("val_loss", "val_accuracy", "epochs_run", "best_epoch", "train_seconds",
                "samples_per_second", "device"):  # fmt: skip
        assert key in metrics
    assert json.loads((trained / "config.json").read_text())["label"] == "malignant"


def test_rebuilt_model_predicts_like_it_scored(trained: Path, cancer: pd.DataFrame) -> None:
    checkpoint = load_checkpoint(trained / "model.pt")
    model = checkpoint.build_model()
    assert not model.training
    x = torch.from_numpy(checkpoint.preprocessor.transform(cancer))
    with torch.no_grad():
        logits = model(x)
    assert logits.shape == (len(cancer), 2)
    accuracy = (logits.argmax(1).numpy() == cancer["malignant"].to_numpy()).mean()
    assert accuracy > 0.9
    assert checkpoint.metrics["val_accuracy"] > 0.9


def test_user_factory_is_recorded_and_used(cancer: pd.DataFrame, tmp_path: Path) -> None:
    factory = "tests.unit.training.test_model:build_linear"
    config = TrainingConfig(label="malignant", max_epochs=2, model_factory=factory)
    train(cancer, config, tmp_path, **QUIET)
    checkpoint = load_checkpoint(tmp_path, model_factory=factory)
    assert checkpoint.model_factory == factory
    assert isinstance(checkpoint.build_model(), torch.nn.Linear)


CUSTOM_MODULE = """
import torch


class Scaled(torch.nn.Module):
    def __init__(self, n_inputs, n_outputs, scale):
        super().__init__()
        self.linear = torch.nn.Linear(n_inputs, n_outputs)
        self.scale = scale

    def forward(self, x):
        return self.linear(x) * self.scale


def build(model_config):
    return Scaled(model_config["n_inputs"], model_config["n_outputs"], model_config["scale"])
"""


def test_load_checkpoint_build_model_rebuilds_a_custom_model_when_its_factory_imports(
    regression_frame: pd.DataFrame, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    package = tmp_path / "src" / "user_nets"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "scaled.py").write_text(CUSTOM_MODULE)
    monkeypatch.syspath_prepend(str(tmp_path / "src"))
    config = TrainingConfig(
        label="y", max_epochs=2, model_factory="user_nets.scaled:build", model_kwargs={"scale": 2.0}
    )
    train(regression_frame, config, tmp_path / "out", **QUIET)

    checkpoint = load_checkpoint(tmp_path / "out", model_factory="user_nets.scaled:build")
    assert checkpoint.model_factory == "user_nets.scaled:build"
    assert checkpoint.model_kwargs == {"scale": 2.0}
    model = checkpoint.build_model()
    assert type(model).__name__ == "Scaled" and model.scale == 2.0
    x = torch.zeros(3, checkpoint.preprocessor.n_inputs)
    assert torch.equal(model(x), (model.linear.bias * 2.0).expand(3, 1))
    for name, tensor in model.state_dict().items():
        assert torch.equal(tensor, checkpoint.state_dict[name])


def test_a_loader_that_pins_the_factory_refuses_another(trained: Path, tmp_path: Path) -> None:
    load_checkpoint(trained, model_factory=None)
    with pytest.raises(TrainingError, match="names model_factory None"):
        load_checkpoint(trained, model_factory="user_nets.scaled:build")


def test_a_recorded_factory_that_does_not_import_says_what_to_install(trained: Path) -> None:
    payload = torch.load(trained / "model.pt", weights_only=True)
    payload["model_factory"] = "gone_package.nets:build"
    target = trained.parent / "moved"
    target.mkdir(exist_ok=True)
    torch.save(payload, target / "model.pt")
    with pytest.raises(ConfigError, match="Cannot import model_factory 'gone_package") as refused:
        load_checkpoint(target, model_factory="gone_package.nets:build").build_model()
    assert "Install the package" in refused.value.hint


def test_missing_or_corrupt_checkpoint(tmp_path: Path) -> None:
    with pytest.raises(TrainingError, match="No checkpoint at"):
        load_checkpoint(tmp_path)
    (tmp_path / "model.pt").write_bytes(b"not a zip file")
    with pytest.raises(TrainingError, match="weights-only checkpoint"):
        load_checkpoint(tmp_path)


def test_pickled_code_is_refused(tmp_path: Path) -> None:
    torch.save({"state_dict": {}, "evil": pd.DataFrame({"a": [1]})}, tmp_path / "model.pt")
    with pytest.raises(TrainingError, match="weights-only"):
        load_checkpoint(tmp_path)


def test_weights_that_do_not_fit_the_network(trained: Path, tmp_path: Path) -> None:
    payload = torch.load(trained / "model.pt", weights_only=True)
    payload["model_config"]["hidden_layers"] = [8]
    torch.save(payload, tmp_path / "model.pt")
    with pytest.raises(TrainingError, match="do not fit the network"):
        load_checkpoint(tmp_path).build_model()
