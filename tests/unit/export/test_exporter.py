"""Export: preprocessing baked in, dynamic batch, checker, parity against torch, atomic output."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import pandas as pd
import pytest
import torch

from airflow_mlops.errors import ConfigError, ExportError
from airflow_mlops.export.exporter import (
    ONNX_FILE,
    REPORT_FILE,
    ExportConfig,
    ExportResult,
    export_checkpoint,
    export_model,
)
from airflow_mlops.export.runtime import OnnxPredictor
from airflow_mlops.local.demo import dataset as demo
from airflow_mlops.training.checkpoint import load_checkpoint
from airflow_mlops.training.config import TrainingConfig
from airflow_mlops.training.loop import train


@pytest.fixture(scope="module")
def demo_frame() -> pd.DataFrame:
    return demo.breast_cancer_frame()


@pytest.fixture(scope="module")
def trained_checkpoint(tmp_path_factory: pytest.TempPathFactory, demo_frame: pd.DataFrame) -> Path:
    """A checkpoint trained by the training core on the demo data (two epochs)."""
    out = tmp_path_factory.mktemp("train") / "checkpoint"
    config = TrainingConfig(label=demo.LABEL, max_epochs=2, device="cpu", num_threads=1)
    train(demo_frame, config, out, log=lambda line: None)
    return out


def test_output_directory_holds_the_model_and_its_report(classifier_export: ExportResult) -> None:
    assert sorted(p.name for p in classifier_export.onnx_path.parent.iterdir()) == [
        REPORT_FILE,
        ONNX_FILE,
    ]
    report = json.loads(classifier_export.report_path.read_text())
    assert report["inputs"] == ["numeric", "categorical"]
    assert report["outputs"] == ["score"]
    assert report["opsets"]["ai.onnx.ml"] == 3
    assert report["parity"]["ok"] is True
    assert report["parity"]["rows"] == 128
    assert set(report["latency"]) == {"threads", "batch_1", "batch_1024"}
    assert report["latency"]["batch_1"]["p50_ms"] <= report["latency"]["batch_1"]["p95_ms"]


def test_the_written_model_passes_the_checker_and_carries_the_metadata(
    classifier_export: ExportResult,
) -> None:
    model = onnx.load(classifier_export.onnx_path)
    onnx.checker.check_model(model, full_check=True)
    props = {p.key: json.loads(p.value) for p in model.metadata_props}
    assert props["categorical_columns"] == ["clinic", "grade"]
    assert props["classes"] == [0, 1]
    assert props["task"] == "classification"
    batch = model.graph.input[0].type.tensor_type.shape.dim[0]
    assert batch.dim_param, "the batch dimension must be symbolic"


@pytest.mark.parametrize("rows", [1, 7, 1500])
def test_any_batch_size_scores(
    classifier_export: ExportResult, make_preprocessing: Any, rows: int
) -> None:
    from airflow_mlops.export.features import FeatureSpec

    frame = FeatureSpec.from_preprocessing(make_preprocessing()).synthetic_frame(rows, seed=rows)
    proba = OnnxPredictor.load(classifier_export.onnx_path).predict_proba(frame)
    assert proba.shape == (rows, 2)
    assert np.isfinite(proba).all()


def test_checkpoint_from_the_training_core_exports_with_parity(
    trained_checkpoint: Path, demo_frame: pd.DataFrame, output_dir: Path, quick_config: ExportConfig
) -> None:
    holdout = demo_frame.copy()
    holdout.loc[holdout.index[:5], "clinic"] = "unknown-site"
    holdout.loc[holdout.index[5:10], "mean_radius"] = np.nan
    result = export_checkpoint(trained_checkpoint, output_dir, sample=holdout, config=quick_config)
    assert result.parity.ok
    assert result.parity.max_abs < 1e-5

    # ORT on raw rows == the training core's transform + the torch net, on every row
    checkpoint = load_checkpoint(trained_checkpoint)
    with torch.inference_mode():
        logits = checkpoint.build_model()(
            torch.from_numpy(checkpoint.preprocessor.transform(holdout))
        )
    expected = torch.softmax(logits, dim=1).numpy()
    predictor = OnnxPredictor.load(result.onnx_path)
    np.testing.assert_allclose(predictor.predict_proba(holdout), expected, atol=1e-5)
    assert predictor.feature_columns == checkpoint.preprocessor.feature_columns
    assert predictor.label == demo.LABEL
    props = {p.key: p.value for p in onnx.load(result.onnx_path).metadata_props}
    assert props["source_checkpoint"] == str(trained_checkpoint.resolve())


def test_regression_without_categorical_columns_has_one_input(
    make_preprocessing: Any, make_net: Any, output_dir: Path, quick_config: ExportConfig
) -> None:
    preprocessing = make_preprocessing(task="regression", categorical=False)
    net = make_net(preprocessing)
    result = export_model(net, preprocessing, output_dir, config=quick_config)
    predictor = OnnxPredictor.load(result.onnx_path)
    assert [i.name for i in predictor.session.get_inputs()] == ["numeric"]
    frame = pd.DataFrame({c: np.linspace(0.5, 900.0, 5) for c in preprocessing["numeric_columns"]})
    values = predictor.predict(frame)
    assert values.shape == (5,)
    scaled = (frame.to_numpy("float32") - np.float32(preprocessing["mean"])) / np.float32(
        preprocessing["std"]
    )
    with torch.inference_mode():
        expected = net(torch.from_numpy(scaled)).numpy()[:, 0]
    np.testing.assert_allclose(values, expected, rtol=1e-5, atol=1e-5)


class ExportOnlyShift(torch.nn.Module):
    """Behaves differently while being exported: the kind of bug parity must catch."""

    def __init__(self, net: torch.nn.Module) -> None:
        super().__init__()
        self.net = net

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.net(x)
        return out * 3.0 if torch.compiler.is_exporting() else out


def test_parity_mismatch_fails_with_the_gap_and_writes_nothing(
    make_preprocessing: Any, make_net: Any, output_dir: Path, quick_config: ExportConfig
) -> None:
    preprocessing = make_preprocessing()
    output_dir.mkdir()
    (output_dir / "keep.txt").write_text("previous export")
    with pytest.raises(ExportError, match=r"max \|difference\| .* at row \d+, output '[01]'") as e:
        export_model(
            ExportOnlyShift(make_net(preprocessing)), preprocessing, output_dir, config=quick_config
        )
    parity = e.value.details["parity"]
    assert parity["ok"] is False
    assert parity["max_abs"] > quick_config.atol
    assert parity["mismatched"] > 0
    assert [p.name for p in output_dir.iterdir()] == ["keep.txt"]


def test_a_loose_tolerance_accepts_the_same_gap(
    make_preprocessing: Any, make_net: Any, output_dir: Path
) -> None:
    preprocessing = make_preprocessing()
    loose = ExportConfig(atol=1.0, sample_rows=32, latency_batches=())
    result = export_model(
        ExportOnlyShift(make_net(preprocessing)), preprocessing, output_dir, config=loose
    )
    assert result.parity.ok
    assert result.parity.max_abs > 1e-3
    assert result.latency == {}


def test_inconsistent_preprocessing_is_refused_before_export(
    make_preprocessing: Any, make_net: Any, output_dir: Path
) -> None:
    preprocessing = make_preprocessing()
    broken = {**preprocessing, "std": [1.0, 0.0], "task": "ranking"}
    with pytest.raises(ExportError, match="inconsistent") as caught:
        export_model(make_net(preprocessing), broken, output_dir)
    problems = " ".join(caught.value.details["problems"])
    assert "4 numeric columns but 4 means and 2 stds" in problems
    assert "std must be > 0" in problems
    assert "ranking" in problems
    assert not output_dir.exists()


def test_missing_preprocessing_keys_are_named(make_net: Any, output_dir: Path) -> None:
    with pytest.raises(ExportError, match=r"lacks \['categories'"):
        export_model(
            torch.nn.Linear(2, 2),
            {"numeric_columns": ["a"], "categorical_columns": [], "mean": [0], "std": [1]},
            output_dir,
        )


def test_an_untraceable_model_is_an_export_error(
    make_preprocessing: Any, output_dir: Path, quick_config: ExportConfig
) -> None:
    class DataDependent(torch.nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return x[:, :2] if x.sum() > 0 else -x[:, :2]

    with pytest.raises(ExportError, match=r"torch\.onnx\.export could not export"):
        export_model(DataDependent(), make_preprocessing(), output_dir, config=quick_config)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"atol": -1.0}, r"atol=-1.0: must be in \[0, 1\]"),
        ({"sample_rows": 0}, "sample_rows=0: must be between 1 and"),
        ({"threads": 0}, "threads=0: must be between 1 and 1024"),
        ({"latency_batches": (1, 0)}, "latency_batches=\\(1, 0\\): must be integers from 1"),
    ],
)
def test_export_config_is_validated(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        ExportConfig(**kwargs)
