"""Monitoring: score new data with the champion, check drift, ask for retraining when needed."""

from __future__ import annotations

from airflow_mlops.ct.triggers import TriggerPolicy
from airflow_mlops.local.demo.pipeline import demo_pipeline
from airflow_mlops.operators.pipeline import build_monitoring_dag

DOC = """
### Monitoring

Scores the day's batch with the `champion` model (onnxruntime), appends inputs, predictions and
the model version to the inference log, then compares that day's log with the champion's
training data (Evidently's per-column drift tests, computed on the whole window, and the
columns together). Data drift emits an event on `x-mlops://drift/cancer-mlp`, a performance drop
one on `x-mlops://performance/cancer-mlp`; either starts `mlops_level1_ct` with trigger `drift`
or `performance`. The HTML report is linked from the task.
"""

dag = build_monitoring_dag(
    demo_pipeline("mlops_level1_ct", TriggerPolicy(), DOC, tags=("mlops", "level-1")),
    dag_id="mlops_monitoring",
    # retrain when a tenth of the columns drifted (Evidently's default share is a half)
    drift={"drift_share": 0.1},
)
