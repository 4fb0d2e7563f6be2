"""The performance trigger end to end: labels arrive late, monitoring joins them, the measured
metric falls below the holdout's, and the event starts CT with trigger ``performance``.

With a real MLflow server and the demo DVC registry, ``dag.test()`` each time:

1. CT trains the champion (its holdout accuracy is the baseline);
2. monitoring scores a batch (no labels yet): predictions logged with their ids, no alarm;
3. the labels of that batch arrive, wrong on purpose (each flipped), in a file of
   ``prediction_id`` and label; the next monitoring run joins them on the logged ids, measures
   the champion's accuracy over the day's window far below its holdout accuracy and emits the
   event on ``x-mlops://performance/<model>``, which queues the CT DAG (its schedule holds that
   asset: only ``on_performance_drop`` is on);
4. the CT run the scheduler would start from it (``dag.test()`` makes a manual run, so its conf
   names the trigger, as the event would) registers a version tagged ``mlops.trigger =
   performance``.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import pytest

pytestmark = [pytest.mark.integration, pytest.mark.e2e, pytest.mark.slow]

LABEL = "malignant"
DAG_FILE = """
import dataclasses

from airflow_mlops.ct.triggers import TriggerPolicy
from airflow_mlops.local.demo.pipeline import demo_pipeline
from airflow_mlops.operators.pipeline import build_ct_dag, build_monitoring_dag

triggers = TriggerPolicy(cron=None, on_new_data=False, on_drift=False, on_performance_drop=True)
config = dataclasses.replace(
    demo_pipeline({dag_id!r}, triggers, "performance trigger test"),
    model_name={model!r},
    backend="local",
    retries=0,
    retry_delay_s=1,
)
dag = build_ct_dag(config)
monitoring = build_monitoring_dag(
    config, dag_id={monitoring_id!r}, input_path={batch!r}, labels_path={labels!r}
)
"""


def _xcom(dag_run: Any, task_id: str) -> Any:
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        row = session.scalars(
            select(XComModel).where(
                XComModel.dag_id == dag_run.dag_id,
                XComModel.run_id == dag_run.run_id,
                XComModel.task_id == task_id,
                XComModel.key == "return_value",
            )
        ).one()
        return XComModel.deserialize_value(row)


def test_late_labels_show_a_drop_and_the_event_starts_ct_with_trigger_performance(
    mlflow_server: str, airflow_db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import pandas as pd
    from airflow import settings
    from airflow.models.asset import AssetDagRunQueue, AssetEvent, AssetModel
    from airflow.utils.session import create_session
    from mlflow import MlflowClient
    from sqlalchemy import select

    from airflow_mlops.assets import performance_asset_uri
    from airflow_mlops.lineage import TRIGGER_TAG
    from airflow_mlops.local.demo.registry import bootstrap_registry
    from airflow_mlops.local.demo.story import write_batches
    from airflow_mlops.settings import MlopsHome

    suffix = uuid.uuid4().hex[:6]
    model, dag_id, monitoring_id = f"perf-{suffix}", f"ct_perf_{suffix}", f"watch_perf_{suffix}"
    dags = tmp_path / "dags"
    dags.mkdir()
    batch = write_batches(tmp_path / "incoming")["normal"]
    labels = tmp_path / "labels.csv"
    pd.DataFrame({"prediction_id": [], LABEL: []}).to_csv(labels, index=False)  # none yet
    source = DAG_FILE.format(
        dag_id=dag_id, model=model, monitoring_id=monitoring_id, batch=str(batch),
        labels=str(labels),
    )  # fmt: skip
    path = dags / f"{dag_id}.py"
    path.write_text(source)
    for key, value in {
        "AIRFLOW__CORE__DAGS_FOLDER": str(dags),
        "AIRFLOW_CONN_MLFLOW_DEFAULT": json.dumps({"conn_type": "mlflow", "host": mlflow_server}),
        "MLFLOW_TRACKING_URI": mlflow_server,
    }.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setattr(settings, "DAGS_FOLDER", str(dags))
    home = MlopsHome.from_env()
    if not home.registry_repo.exists():
        bootstrap_registry(home.registry_repo, home.dvc_remote)
    namespace: dict[str, Any] = {"__file__": str(path)}
    exec(compile(source, str(path), "exec"), namespace)
    ct, monitoring = namespace["dag"], namespace["monitoring"]

    # 1. the champion
    first = ct.test(run_conf={"epochs": 3})
    assert str(first.state) == "success"
    # 2. a batch scored, no labels yet: nothing to measure, no alarm
    quiet = monitoring.test()
    assert str(quiet.state) == "success"
    verdict = _xcom(quiet, "check_drift")
    assert verdict["reason"] is None, verdict
    # 3. the labels arrive (each flipped): joined on the logged ids, they show the drop
    logged = pd.concat(
        pd.read_parquet(f) for f in sorted((home.inference_log / model).rglob("*.parquet"))
    )
    truth = pd.read_csv(batch)[LABEL].to_numpy()
    assert len(logged) == len(truth)
    pd.DataFrame({"prediction_id": logged["prediction_id"], LABEL: 1 - truth}).to_csv(
        labels, index=False
    )
    alarm = monitoring.test()
    assert str(alarm.state) == "success"
    verdict = _xcom(alarm, "check_drift")
    performance = verdict["performance"]
    print(f"\nperformance: {json.dumps(performance, default=str)}")
    assert verdict["reason"] == "performance", verdict
    assert performance["measured"] < 0.2 < 0.8 < performance["reference"]
    uri = performance_asset_uri(model)
    with create_session() as session:
        asset = session.scalar(select(AssetModel).where(AssetModel.uri == uri))
        events = session.scalars(select(AssetEvent).where(AssetEvent.asset_id == asset.id)).all()
        queued = session.scalars(
            select(AssetDagRunQueue.target_dag_id).where(AssetDagRunQueue.asset_id == asset.id)
        ).all()
    (event,) = events
    assert event.extra["reason"] == "performance" and event.extra["model"] == model
    assert dag_id in queued
    # 4. the CT run it starts records the trigger
    retrain = ct.test(run_conf={"trigger": "performance", "epochs": 4})
    assert str(retrain.state) == "success"
    versions = MlflowClient(mlflow_server).search_model_versions(f"name='{model}'")
    latest = max(versions, key=lambda v: int(v.version))
    assert int(latest.version) == 2 and latest.tags[TRIGGER_TAG] == "performance"
