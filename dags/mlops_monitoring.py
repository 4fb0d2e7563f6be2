"""Monitoring: score new data with the champion, check drift, ask for retraining when needed."""

from __future__ import annotations

import datetime as dt

from airflow.sdk import DAG, Param

from airflow_mlops.local.demo.dataset import LABEL
from airflow_mlops.local.demo.pipeline import MODEL_NAME, demo_dataset
from airflow_mlops.operators.monitoring import BatchPredictOperator, DriftMonitorOperator
from airflow_mlops.settings import MlopsHome

DOC = """
### Monitoring

Scores the day's batch with the `champion` model (onnxruntime), appends inputs, predictions and
the model version to the inference log, then compares that day's log with the champion's
training data (Evidently's per-column drift tests, computed on the whole window). Data drift
or a performance drop emits an event on `x-mlops://drift/cancer-mlp`, which starts
`mlops_level1_ct` with trigger `drift` or `performance`. The HTML report is linked from the task.
"""

with DAG(
    dag_id="mlops_monitoring",
    schedule="0 6 * * *",
    start_date=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
    catchup=False,
    max_active_runs=1,
    tags=["mlops", "level-1", "monitoring"],
    doc_md=DOC,
    default_args={"owner": "mlops", "retries": 1, "retry_delay": dt.timedelta(seconds=30)},
    params={
        "input_path": Param(
            str(MlopsHome.from_env().root / "incoming" / "batch.csv"),
            type="string",
            description="The batch to score: a CSV or Parquet file of raw feature rows.",
        ),
    },
):
    score = BatchPredictOperator(
        task_id="score_batch", model_name=MODEL_NAME, input_path="{{ params.input_path }}"
    )
    drift = DriftMonitorOperator(
        task_id="check_drift",
        model_name=MODEL_NAME,
        # the day the batch was scored (the run's start), not the schedule's logical date
        window_start="{{ dag_run.start_date.strftime('%Y-%m-%d') }}",
        window_end="{{ dag_run.start_date.strftime('%Y-%m-%d') }}",
        data_registry=demo_dataset().registry,
        # retrain when a tenth of the columns drifted (Evidently's default share is a half)
        drift={"drift_share": 0.1},
        label_column=LABEL,
    )
    score >> drift
