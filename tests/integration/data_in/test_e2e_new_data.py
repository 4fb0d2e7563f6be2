"""End to end, scheduler-free: the sensor DAG sees an unprocessed version and emits the asset
event whose extra names it; the CT-style DAG that consumes the asset is queued for a run."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.integration, pytest.mark.e2e, pytest.mark.slow]
DAGS = Path(__file__).parent / "dags"


def _airflow(args: list[str], env: dict[str, str]) -> str:
    airflow = str(Path(sys.executable).with_name("airflow"))
    result = subprocess.run([airflow, *args], env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result.stdout


def test_new_version_emits_event_that_queues_the_ct_dag(airflow_db, demo_registry) -> None:
    from airflow.models.asset import AssetDagRunQueue, AssetEvent, AssetModel
    from airflow.utils.session import create_session
    from sqlalchemy import select

    env = {
        **os.environ,
        "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS),
        "DATA_IN_REGISTRY": str(demo_registry.repo),
        "DATA_IN_REMOTE": str(demo_registry.remote),
    }
    _airflow(["dags", "reserialize"], env)
    _airflow(["dags", "unpause", "ct_on_new_data"], env)
    _airflow(["dags", "test", "dvc_new_data"], env)

    with create_session() as session:
        asset = session.scalar(select(AssetModel).where(AssetModel.uri == "x-mlops://data/cancer"))
        events = session.scalars(select(AssetEvent).where(AssetEvent.asset_id == asset.id)).all()
        queued = session.scalars(
            select(AssetDagRunQueue.target_dag_id).where(AssetDagRunQueue.asset_id == asset.id)
        ).all()
    (event,) = events
    assert event.extra["reason"] == "new_data"
    assert event.extra["rev"] == "v2"
    assert event.source_dag_id == "dvc_new_data"
    assert "ct_on_new_data" in queued
