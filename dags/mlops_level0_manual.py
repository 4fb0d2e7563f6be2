"""MLOps level 0: a person trains, evaluates and (optionally) promotes a model from the UI form."""

from __future__ import annotations

from airflow_mlops.ct.triggers import TriggerPolicy
from airflow_mlops.local.demo.pipeline import demo_pipeline
from airflow_mlops.operators.pipeline import build_ct_dag

DOC = """
### MLOps level 0: manual training

Trigger it from the Airflow UI (**Trigger DAG**): the form asks for the dataset revision, the
epochs, the learning rate, the hidden layer sizes, the batch size, the seed and whether to promote.
Invalid values are refused by the form; values sent through the API are checked again by the first
task, which fails without retries and names the field.

The run pulls the revision with DVC, validates it with Great Expectations, trains in Docker,
exports to ONNX with a parity check, registers the version in MLflow (alias `challenger`) and,
if `promote` is on and the gate passes, moves `champion`.
"""

dag = build_ct_dag(
    demo_pipeline(
        "mlops_level0_manual",
        TriggerPolicy(cron=None, on_new_data=False, on_drift=False, on_performance_drop=False),
        DOC,
        tags=("mlops", "level-0"),
    )
)
