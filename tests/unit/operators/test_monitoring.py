"""BatchPredictOperator and DriftMonitorOperator through ``execute`` with a small context: the
model comes from a local ONNX file (``load_model`` overridden), the rest is real."""

from __future__ import annotations

import datetime as dt
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from airflow.sdk import Asset
from airflow.sdk.execution_time.context import OutletEventAccessors

from airflow_mlops.assets import drift_asset_uri
from airflow_mlops.export.runtime import OnnxPredictor
from airflow_mlops.lineage import MODEL_VERSION_TAG, WINDOW_TAG
from airflow_mlops.local.demo.synthetic import SyntheticGenerator
from airflow_mlops.monitoring.sources import write_parquet
from airflow_mlops.operators.monitoring import (
    REPORT_KEY,
    BatchPredictOperator,
    DriftMonitorError,
    DriftMonitorOperator,
    drift_alias,
)
from tests.support.context import make_task_context

MODEL = "cancer"
TODAY = dt.date.today().isoformat()


@dataclass
class Version:
    version: str = "4"
    tags: dict[str, str] = field(default_factory=dict)


def local_model(path: Path):
    """Operator subclasses that score with a local ONNX file instead of the registry."""

    class LocalBatch(BatchPredictOperator):
        def load_model(self):
            return "4", OnnxPredictor.load(path)

    class LocalMonitor(DriftMonitorOperator):
        def load_model(self):
            return Version(), OnnxPredictor.load(path)

    return LocalBatch, LocalMonitor


@pytest.fixture(scope="module")
def onnx_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from airflow_mlops.local.demo.model import export_demo_model

    return export_demo_model(tmp_path_factory.mktemp("onnx") / "model", hidden_units=None)


def context(run_id: str) -> dict[str, Any]:
    return make_task_context(
        "m", dag_id="monitoring", run_id=run_id, outlet_events=OutletEventAccessors()
    )


def batch(tmp_path: Path, rows: int, seed: int, shift: dict[str, float] | None = None) -> Path:
    frame = next(SyntheticGenerator.fit().chunks(rows, seed=seed, chunk_rows=rows, shift=shift))
    return write_parquet([frame], tmp_path / f"batch-{seed}.parquet")


def monitor(cls, tmp_path: Path, **kwargs: Any) -> DriftMonitorOperator:
    return cls(
        task_id="monitor",
        model_name=MODEL,
        window_start=TODAY,
        window_end=TODAY,
        reference_path=str(batch(tmp_path, 3_000, 1)),
        inference_log_root=str(tmp_path / "log"),
        mlflow_conn_id="",
        **kwargs,
    )


def score(cls, tmp_path: Path, path: Path, run_id: str) -> dict[str, Any]:
    operator = cls(
        task_id="score",
        model_name=MODEL,
        input_path=str(path),
        inference_log_root=str(tmp_path / "log"),
        output_path=str(tmp_path / "predictions" / f"{run_id}.parquet"),
    )
    return operator.execute(context(run_id))


def test_batch_predict_returns_references(tmp_path, onnx_model):
    local_batch, _ = local_model(onnx_model)
    result = score(local_batch, tmp_path, batch(tmp_path, 800, 2), "scheduled__1")
    assert result["rows"] == 800 and result["model_version"] == "4" and result["model"] == MODEL
    assert f"date={TODAY}" in result["inference_log_uri"]
    assert len(pd.read_parquet(result["predictions_uri"])) == 800


def test_drift_emits_the_asset_event_with_its_extra(tmp_path, onnx_model):
    local_batch, local_monitor = local_model(onnx_model)
    shift = {"mean_radius": 2.0, "worst_area": 2.0, "mean_texture": 2.0, "worst_radius": 2.0}
    score(local_batch, tmp_path, batch(tmp_path, 2_000, 3, shift=shift), "scheduled__2")
    operator = monitor(local_monitor, tmp_path, drift={"drift_share": 0.1})
    assert drift_alias(MODEL) in operator.outlets
    ctx = context("scheduled__2")
    result = operator.execute(ctx)

    assert result["reason"] == "drift" and set(shift) <= set(result["drifted_columns"])
    assert result["window"] == f"{TODAY}..{TODAY}"
    events = ctx["outlet_events"][drift_alias(MODEL)].asset_alias_events
    assert len(events) == 1
    assert events[0].dest_asset_key.uri == Asset(drift_asset_uri(MODEL)).uri
    performance = result["performance"]  # no labels: CBPE's estimate
    assert events[0].extra == {
        "reason": "drift",
        "model": MODEL,
        "window": f"{TODAY}..{TODAY}",
        "drift_share": result["drift_share"],
        "metric": "accuracy",
        "holdout": performance["reference"],
        "live": performance["estimated"],
        "basis": "estimated",
        "drop": performance["drop"],
    }
    assert ctx["ti"].pushed[REPORT_KEY] == Path(result["report_uri"]).as_uri()


def test_no_drift_emits_nothing(tmp_path, onnx_model):
    local_batch, local_monitor = local_model(onnx_model)
    score(local_batch, tmp_path, batch(tmp_path, 2_000, 4), "scheduled__3")
    ctx = context("scheduled__3")
    result = monitor(local_monitor, tmp_path).execute(ctx)
    assert result["reason"] is None
    assert ctx["outlet_events"][drift_alias(MODEL)].asset_alias_events == []


def test_empty_window_is_a_task_error(tmp_path, onnx_model):
    _, local_monitor = local_model(onnx_model)
    with pytest.raises(DriftMonitorError, match="the window is empty"):
        monitor(local_monitor, tmp_path).execute(context("scheduled__4"))


def test_invalid_drift_settings_fail_at_parse_time():
    with pytest.raises(ValueError, match="Unknown drift methods"):
        DriftMonitorOperator(task_id="m", model_name=MODEL, drift={"method": "energy"})


@pytest.mark.integration
def test_drift_history_goes_to_mlflow_without_touching_global_state(
    tmp_path, onnx_model, mlflow_server, monkeypatch
):
    import mlflow

    from airflow_mlops.model_registry.client import mlflow_client

    monkeypatch.setenv(
        "AIRFLOW_CONN_DRIFT_MLFLOW", json.dumps({"conn_type": "mlflow", "host": mlflow_server})
    )
    local_batch, local_monitor = local_model(onnx_model)
    score(local_batch, tmp_path, batch(tmp_path, 2_000, 5), "scheduled__5")
    operator = monitor(local_monitor, tmp_path)
    operator.mlflow_conn_id = "drift_mlflow"
    fluent = mlflow.tracking.fluent
    before = (mlflow.get_tracking_uri(), os.environ.get("MLFLOW_TRACKING_URI"))
    active_experiment = fluent._active_experiment_id

    result = operator.execute(context("scheduled__5"))

    client = mlflow_client(mlflow_server)
    run = client.get_run(result["mlflow_run_id"])
    assert client.get_experiment(run.info.experiment_id).name == f"monitoring/{MODEL}"
    assert run.info.status == "FINISHED"
    assert run.data.metrics["drift_share"] == result["drift_share"]
    assert run.data.metrics["current_rows"] == 2_000
    assert run.data.tags[WINDOW_TAG] == result["window"]
    assert run.data.tags[MODEL_VERSION_TAG] == "4"
    assert (mlflow.get_tracking_uri(), os.environ.get("MLFLOW_TRACKING_URI")) == before
    assert mlflow.active_run() is None
    assert fluent._active_experiment_id == active_experiment  # no set_experiment


def test_late_labels_emit_the_performance_event_and_ct_runs_for_performance(tmp_path, onnx_model):
    from types import SimpleNamespace

    from airflow_mlops.assets import performance_asset_uri
    from airflow_mlops.ct.config import CTPipelineConfig, DatasetSpec
    from airflow_mlops.ct.triggers import TriggerPolicy
    from airflow_mlops.operators.ct import PrepareCTRunOperator
    from airflow_mlops.operators.pipeline import ct_schedule

    local_batch, local_monitor = local_model(onnx_model)
    scored = score(local_batch, tmp_path, batch(tmp_path, 1_000, 5), "scheduled__5")
    logged = pd.read_parquet(scored["inference_log_uri"])
    # the ground truth arrives a week later, for 400 rows: the model was wrong on each
    labels = logged.head(400)[["prediction_id"]].assign(malignant=1 - logged.head(400).prediction)
    labels_path = tmp_path / "labels.parquet"
    labels.to_parquet(labels_path)
    ctx = context("scheduled__5")
    result = monitor(local_monitor, tmp_path, labels_path=str(labels_path)).execute(ctx)

    performance = result["performance"]
    assert result["reason"] == "performance"
    assert (performance["basis"], performance["labelled_rows"]) == ("measured", 400)
    assert performance["measured"] == 0.0 and performance["estimated"] is not None
    (event,) = ctx["outlet_events"][drift_alias(MODEL)].asset_alias_events
    assert event.dest_asset_key.uri == performance_asset_uri(MODEL)
    assert (event.extra["reason"], event.extra["basis"], event.extra["live"]) == (
        "performance",
        "measured",
        0.0,
    )

    # CT is scheduled on that asset, and its first task records the trigger `performance`
    config = CTPipelineConfig(
        dag_id="ct",
        model_name=MODEL,
        dataset=DatasetSpec(name="d", registry="/r", path="d.csv", label="malignant"),
        backend="local",
        triggers=TriggerPolicy(cron=None, on_new_data=False, on_drift=False),
    )
    assert ct_schedule(config.triggers, config).uri == event.dest_asset_key.uri
    prepare = PrepareCTRunOperator(task_id="prepare_run", config=config)
    run = make_task_context(
        task=prepare,
        run_type="asset_triggered",
        triggering_asset_events={event.dest_asset_key.uri: [SimpleNamespace(extra=event.extra)]},
    )
    assert prepare.execute(run)["trigger"] == "performance"


def test_labels_with_unknown_ids_fail_the_task(tmp_path, onnx_model):
    local_batch, local_monitor = local_model(onnx_model)
    score(local_batch, tmp_path, batch(tmp_path, 300, 6), "scheduled__6")
    labels_path = tmp_path / "labels.csv"
    pd.DataFrame({"prediction_id": ["nowhere-1"], "malignant": [1]}).to_csv(labels_path)
    operator = monitor(local_monitor, tmp_path, labels_path=str(labels_path))
    with pytest.raises(DriftMonitorError, match="no prediction of the window has"):
        operator.execute(context("scheduled__6"))
