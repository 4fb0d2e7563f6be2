"""ExportOnnxOperator.execute on a real trained checkpoint, with a minimal task context."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from airflow_mlops.export.runtime import OnnxPredictor
from airflow_mlops.local.demo import dataset as demo
from airflow_mlops.operators.export import ExportOnnxOperator, OnnxExportError
from airflow_mlops.settings import MlopsHome
from airflow_mlops.training.config import TrainingConfig
from airflow_mlops.training.loop import train
from tests.support.context import make_task_context

QUICK = {"sample_rows": 64, "latency_batches": (1, 256)}


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("train") / "checkpoint"
    config = TrainingConfig(label=demo.LABEL, max_epochs=2, device="cpu", num_threads=1)
    train(demo.breast_cancer_frame(), config, out, log=lambda line: None)
    return out


def context(run_id: str = "manual__2025-01-01T00:00:00+00:00") -> dict[str, Any]:
    return make_task_context("export", dag_id="ct_demo", run_id=run_id)


def test_execute_returns_references_and_the_checks(checkpoint: Path, tmp_path: Path) -> None:
    operator = ExportOnnxOperator(
        task_id="export", checkpoint_uri=f"file://{checkpoint}", output_uri=str(tmp_path), **QUICK
    )
    result = operator.execute(context())
    json.dumps(result)  # XCom-able
    assert result["onnx_uri"] == f"{tmp_path}/model.onnx"
    assert result["report_uri"] == f"{tmp_path}/export_report.json"
    assert result["parity_max_abs"] < 1e-5
    assert result["parity"]["rows"] == 64
    assert set(result["latency"]) == {"threads", "batch_1", "batch_256"}
    assert result["latency"]["threads"] == 1
    report = json.loads(Path(result["report_uri"]).read_text())
    assert report["sha256"] == result["sha256"]
    predictor = OnnxPredictor.load(result["onnx_uri"])
    assert predictor.predict(demo.breast_cancer_frame().head(3)).shape == (3,)


def test_default_output_is_under_the_artifact_root(checkpoint: Path) -> None:
    operator = ExportOnnxOperator(task_id="export", checkpoint_uri=str(checkpoint), **QUICK)
    result = operator.execute(context("scheduled__2025-01-02T00:00:00+00:00"))
    expected = MlopsHome.from_env().artifacts / "onnx/ct_demo/scheduled__2025-01-02T00_00_00_00_00"
    assert result["onnx_uri"] == str(expected / "export/model.onnx")
    assert Path(result["onnx_uri"]).is_file()


def test_sample_uri_rows_are_the_parity_sample(checkpoint: Path, tmp_path: Path) -> None:
    sample = tmp_path / "holdout.csv"
    demo.breast_cancer_frame().head(40).to_csv(sample, index=False)
    operator = ExportOnnxOperator(
        task_id="export",
        checkpoint_uri=str(checkpoint),
        output_uri=str(tmp_path / "onnx"),
        sample_uri=str(sample),
        **QUICK,
    )
    assert operator.execute(context())["parity"]["rows"] == 40


def test_a_sample_without_the_features_fails_with_the_missing_columns(
    checkpoint: Path, tmp_path: Path
) -> None:
    sample = tmp_path / "holdout.csv"
    demo.breast_cancer_frame().drop(columns=["clinic"]).head(10).to_csv(sample, index=False)
    operator = ExportOnnxOperator(
        task_id="export",
        checkpoint_uri=str(checkpoint),
        output_uri=str(tmp_path / "onnx"),
        sample_uri=str(sample),
        **QUICK,
    )
    with pytest.raises(OnnxExportError, match=r"lacks feature columns \['clinic'\]") as caught:
        operator.execute(context())
    assert "task 'export'" in str(caught.value)
    assert caught.value.details["missing"] == ["clinic"]
    assert not (tmp_path / "onnx").exists()


def test_a_missing_checkpoint_says_what_to_pass(tmp_path: Path) -> None:
    operator = ExportOnnxOperator(
        task_id="export", checkpoint_uri=str(tmp_path / "nothing"), output_uri=str(tmp_path / "o")
    )
    with pytest.raises(OnnxExportError, match="No checkpoint at"):
        operator.execute(context())


def test_a_subclass_can_choose_the_sample(checkpoint: Path, tmp_path: Path) -> None:
    class LastRows(ExportOnnxOperator):
        def load_sample(self, context: Any) -> pd.DataFrame:
            return demo.breast_cancer_frame().tail(25)

    operator = LastRows(
        task_id="export", checkpoint_uri=str(checkpoint), output_uri=str(tmp_path), **QUICK
    )
    assert operator.execute(context())["parity"]["rows"] == 25


def test_bad_tolerances_fail_when_the_dag_is_parsed() -> None:
    with pytest.raises(OnnxExportError, match=r"atol=-1: must be in \[0, 1\]"):
        ExportOnnxOperator(task_id="export", checkpoint_uri="x", atol=-1)
    assert ExportOnnxOperator.template_fields == ("checkpoint_uri", "output_uri", "sample_uri")
