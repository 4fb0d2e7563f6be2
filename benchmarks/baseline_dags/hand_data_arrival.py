"""Hand-written data arrival: poll the registry for a new version (parse benchmark baseline)."""

from __future__ import annotations

import datetime as dt

from airflow.providers.standard.sensors.python import PythonSensor
from airflow.sdk import DAG, Asset


def _new_version() -> bool:
    import subprocess

    out = subprocess.run(["git", "ls-remote", "/srv/registry", "refs/heads/main"], text=True)
    return out.returncode == 0


with DAG(
    "hand_data_arrival",
    schedule="*/30 * * * *",
    start_date=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
    catchup=False,
    max_active_runs=1,
    tags=["hand", "data"],
    default_args={"owner": "mlops", "retries": 1, "retry_delay": dt.timedelta(seconds=30)},
):
    PythonSensor(
        task_id="wait_for_new_version",
        python_callable=_new_version,
        poke_interval=30,
        timeout=25 * 60,
        mode="reschedule",
        outlets=[Asset("x-mlops://data/hand")],
    )
