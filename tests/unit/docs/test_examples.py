"""The subclassing guide's examples (docs/examples/*.py), imported and run for real."""

from __future__ import annotations

import importlib
from pathlib import Path

import pandas as pd
import pytest

from airflow_mlops.local.demo.dataset import breast_cancer_frame

FACTORY = "custom_model:build_residual_mlp"


@pytest.fixture(scope="module")
def demo_frame() -> pd.DataFrame:
    return breast_cancer_frame()


def _write(frame: pd.DataFrame, path: Path) -> str:
    frame.to_csv(path, index=False)
    return str(path)


# --- 1. custom validation suite -------------------------------------------------------------


def test_custom_suite_passes_clean_data(examples, task_context, demo_frame, tmp_path):
    from custom_suite import ClinicalSuiteValidateOperator

    operator = ClinicalSuiteValidateOperator(
        task_id="validate",
        dataset=_write(demo_frame, tmp_path / "clean.csv"),
        artifact_root=str(tmp_path / "artifacts"),
    )
    context = task_context("validate", dag_id="docs_examples")
    result = operator.execute(context)
    assert result["success"] is True
    assert result["suite"] == "docs_examples.clinical"
    assert result["suite_uri"] is None  # built in code, not read from a file
    assert result["statistics"]["evaluated_expectations"] == 11
    assert Path(result["data_docs_uri"].removeprefix("file://")).is_file()
    assert context["ti"].pushed["validation_result"] == result


def test_custom_suite_stops_bad_values_naming_them(examples, task_context, demo_frame, tmp_path):
    from custom_suite import ClinicalSuiteValidateOperator

    from airflow_mlops.operators.validation import DataValidationFailed

    bad = demo_frame.copy()
    bad.loc[:4, "mean_radius"] = 55.0
    bad.loc[10:12, "clinic"] = "mars"
    operator = ClinicalSuiteValidateOperator(
        task_id="validate",
        dataset=_write(bad, tmp_path / "bad.csv"),
        artifact_root=str(tmp_path / "artifacts"),
        max_radius=40.0,
    )
    with pytest.raises(DataValidationFailed) as caught:
        operator.execute(task_context("validate", dag_id="docs_examples"))
    message = str(caught.value)
    assert "mean_radius" in message and "55" in message
    assert "clinic" in message and "mars" in message
    failed = {f["expectation"] for f in caught.value.details["failed"]}
    assert failed == {"expect_column_values_to_be_between", "expect_column_values_to_be_in_set"}


def test_custom_suite_stops_schema_skew_even_when_values_only_warn(
    examples, task_context, demo_frame, tmp_path
):
    from custom_suite import ClinicalSuiteValidateOperator

    from airflow_mlops.operators.validation import DataValidationFailed

    operator = ClinicalSuiteValidateOperator(
        task_id="validate",
        dataset=_write(demo_frame.drop(columns=["worst_area"]), tmp_path / "skew.csv"),
        artifact_root=str(tmp_path / "artifacts"),
        policy={"value_severity": "warn"},
    )
    with pytest.raises(DataValidationFailed, match="worst_area"):
        operator.execute(task_context("validate", dag_id="docs_examples"))


# --- 2. custom torch model through model_factory ----------------------------------------------


@pytest.fixture(scope="module")
def custom_checkpoint(demo_frame, tmp_path_factory) -> Path:
    """The demo data trained for two epochs with the example's residual network."""
    import sys

    from airflow_mlops.training.config import TrainingConfig
    from airflow_mlops.training.loop import train

    examples = str(Path(__file__).resolve().parents[3] / "docs" / "examples")
    sys.path.insert(0, examples)
    try:
        output = tmp_path_factory.mktemp("custom-model") / "train"
        config = TrainingConfig(
            label="malignant",
            model_factory=FACTORY,
            model_kwargs={"width": 16, "blocks": 1},
            max_epochs=2,
            device="cpu",
            num_threads=1,
        )
        train(demo_frame, config, output, log=lambda line: None)
    finally:
        sys.path.remove(examples)
    return output


def test_custom_model_trains_and_reloads(examples, custom_checkpoint, demo_frame):
    import torch
    from custom_model import ResidualMLP

    from airflow_mlops.training.checkpoint import load_checkpoint

    checkpoint = load_checkpoint(custom_checkpoint, model_factory=FACTORY)
    assert checkpoint.model_factory == FACTORY
    assert checkpoint.metrics["epochs_run"] == 2
    assert checkpoint.model_config["width"] == 16
    model = checkpoint.build_model()
    assert isinstance(model, ResidualMLP) and not model.training
    assert len(model.blocks) == 1
    for name, tensor in model.state_dict().items():
        assert torch.equal(tensor, checkpoint.state_dict[name]), name
    with torch.no_grad():
        inputs = torch.zeros(3, checkpoint.model_config["n_inputs"])
        assert model(inputs).shape == (3, 2)


@pytest.fixture(scope="module")
def custom_onnx(custom_checkpoint, demo_frame, tmp_path_factory):
    """The custom model exported to ONNX (the export checks parity with torch itself)."""
    from airflow_mlops.export.exporter import ExportConfig, export_checkpoint

    return export_checkpoint(
        custom_checkpoint,
        tmp_path_factory.mktemp("custom-onnx"),
        sample=demo_frame.head(64),
        config=ExportConfig(latency_batches=()),
        model_factory=FACTORY,
    )


def test_custom_model_exports_to_onnx_with_parity(examples, custom_onnx, demo_frame):
    from airflow_mlops.export.runtime import OnnxPredictor

    assert custom_onnx.parity.ok and custom_onnx.parity.rows == 64
    predictor = OnnxPredictor.load(custom_onnx.onnx_path)
    assert predictor.predict_proba(demo_frame.head(5)).shape == (5, 2)


# --- 3. custom promotion gate ------------------------------------------------------------------


def _evaluation(version: str, accuracy: float, slice_f1: dict[str, float], better_rows=0):
    """An evaluation on 400 rows; ``better_rows`` > 0: a challenger right on that many rows
    where the champion is wrong (and on no row the other way round)."""
    import numpy as np

    from airflow_mlops.model_registry.gate import Evaluation
    from airflow_mlops.model_registry.significance import compare_on_rows

    paired = None
    if better_rows:
        truth = np.zeros(400, dtype=int)
        champion = np.eye(2)[(np.arange(400) < better_rows).astype(int)]
        paired = compare_on_rows("accuracy", 1, truth, np.eye(2)[truth], champion, [0, 1])
    return Evaluation(
        version=version,
        task="classification",
        rows=400,
        metrics={"accuracy": accuracy, "f1": accuracy, "log_loss": 0.2},
        slices={
            name: {"rows": 100, "accuracy": accuracy, "f1": f1} for name, f1 in slice_f1.items()
        },
        paired=paired,
    )


def _gate(**kwargs):
    from custom_gate import SafetyGatePromoteOperator

    return SafetyGatePromoteOperator(
        task_id="promote",
        model_name="cancer-mlp",
        challenger_version="challenger",
        holdout_uri="/data/holdout.csv",
        **kwargs,
    )


def test_custom_gate_rejects_a_better_model_with_a_weak_clinic(examples):
    champion = _evaluation("1", 0.90, {"north": 0.90, "south": 0.90})
    challenger = _evaluation("2", 0.93, {"north": 0.95, "south": 0.86}, better_rows=12)
    decision = _gate(min_slice_f1=0.88, gate={"slice_tolerance": 0.05}).compare(
        challenger, champion
    )
    assert not decision.accepted
    assert decision.reasons == ["failed slice 'south': F1 floor: 0.86 (limit 0.88)"]
    names = [check["check"] for check in decision.checks]
    assert "improvement in accuracy over champion v1" in names  # the default rules still ran


def test_custom_gate_keeps_the_default_rules(examples):
    champion = _evaluation("1", 0.95, {"north": 0.95})
    challenger = _evaluation("2", 0.93, {"north": 0.95})
    decision = _gate(min_slice_f1=0.5).compare(challenger, champion)
    assert not decision.accepted
    assert decision.reasons[0].startswith("failed improvement in accuracy over champion v1")
    accepted = _gate(min_slice_f1=0.5).compare(challenger, None)
    assert accepted.accepted and "no champion yet" in accepted.reasons[0]


def test_custom_gate_refuses_a_bad_floor(examples):
    with pytest.raises(ValueError, match=r"min_slice_f1=1\.5"):
        _gate(min_slice_f1=1.5)


def test_custom_gate_on_real_evaluations(examples, custom_onnx, demo_frame):
    from airflow_mlops.export.runtime import OnnxPredictor
    from airflow_mlops.model_registry.gate import evaluate

    challenger = evaluate(
        OnnxPredictor.load(custom_onnx.onnx_path),
        demo_frame,
        version="2",
        slice_column="clinic",
        measure_latency=False,
    )
    decision = _gate(min_slice_f1=0.5).compare(challenger, None)
    floors = [c for c in decision.checks if c["check"].endswith("F1 floor")]
    assert sorted(c["check"].split("'")[1] for c in floors) == ["east", "north", "south", "west"]
    assert decision.accepted == all(c["passed"] for c in decision.checks)


def test_examples_are_importable_modules(examples):
    for name in ("custom_suite", "custom_model", "custom_gate"):
        assert importlib.import_module(name).__doc__
