"""MLOps level 1: continuous training on a schedule, on new data, on drift or on demand."""

from __future__ import annotations

from airflow_mlops.ct.triggers import TriggerPolicy
from airflow_mlops.local.demo.pipeline import demo_pipeline
from airflow_mlops.operators.pipeline import build_ct_dag

DOC = """
### MLOps level 1: continuous training

Five triggers start a run (one `TriggerPolicy`): nightly at 02:00 UTC, a new dataset version
(asset `x-mlops://data/cancer` from `mlops_data_arrival`), drift or a performance drop (assets
`x-mlops://drift/cancer-mlp` and `x-mlops://performance/cancer-mlp` from `mlops_monitoring`),
or a person. Events that arrive while a run is active wait for it (`max_active_runs=1`) and
start one more run together; the first task records which trigger started the run, and the
model version keeps it as its `mlops.trigger` tag.

Pipeline: pull → validate (schema problems stop the run) → fingerprint check (unchanged data,
image and params skip training) → train in Docker → ONNX export and parity → register
(`challenger`) → evaluate against the champion and promote → asset `x-mlops://model/cancer-mlp`.
"""

dag = build_ct_dag(
    demo_pipeline("mlops_level1_ct", TriggerPolicy(), DOC, tags=("mlops", "level-1"))
)
