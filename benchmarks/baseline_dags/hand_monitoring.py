"""Hand-written monitoring: score the day's batch, check drift (parse benchmark baseline)."""

from __future__ import annotations

import datetime as dt

from airflow.providers.standard.operators.python import PythonOperator
from airflow.sdk import DAG, Asset, Param, task

DRIFT = Asset("x-mlops://drift/hand")


def _score(input_path: str) -> int:
    import onnxruntime
    import pandas as pd

    frame = pd.read_csv(input_path)
    onnxruntime.InferenceSession("/srv/models/champion.onnx")
    return len(frame)


with DAG(
    "hand_monitoring",
    schedule="0 6 * * *",
    start_date=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
    catchup=False,
    max_active_runs=1,
    tags=["hand", "monitoring"],
    default_args={"owner": "mlops", "retries": 1, "retry_delay": dt.timedelta(seconds=30)},
    params={"input_path": Param("/srv/incoming/batch.csv", type="string")},
):
    score = PythonOperator(
        task_id="score_batch", python_callable=_score, op_args=["{{ params.input_path }}"]
    )

    @task(outlets=[DRIFT])
    def check_drift() -> None:
        from evidently import Report

        Report(metrics=[])

    score >> check_drift()
