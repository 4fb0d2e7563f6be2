from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import torch

from airflow_mlops.errors import TrainingError
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
    assert set(payload) == {"state_dict", "preprocessing", "model_config", "model_factory"}
    assert payload["model_factory"] is None
    assert payload["model_config"]["n_inputs"] == 34
    assert set(payload["preprocessing"]) == {
        "numeric_columns", "categorical_columns", "mean", "std", "categories", "label", "task",
        "classes",
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
    factory = "training.test_model:build_linear"
    config = TrainingConfig(label="malignant", max_epochs=2, model_factory=factory)
    train(cancer, config, tmp_path, **QUIET)
    checkpoint = load_checkpoint(tmp_path, model_factory=factory)
    assert checkpoint.model_factory == factory
    assert isinstance(checkpoint.build_model(), torch.nn.Linear)


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
