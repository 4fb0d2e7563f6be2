"""Data arrival: announce each new version of the training data as an asset event."""

from __future__ import annotations

from airflow_mlops.ct.triggers import TriggerPolicy
from airflow_mlops.local.demo.pipeline import demo_pipeline
from airflow_mlops.operators.pipeline import build_data_arrival_dag

DOC = """
### Data arrival

Watches `main` of the DVC data registry. When `data/cancer.csv` has a version whose md5 no
earlier event announced, the sensor emits an event on `x-mlops://data/cancer` with
`{"reason": "new_data", "rev", "commit", "md5"}` in its extra, which starts `mlops_level1_ct`.
The sensor waits in the triggerer (deferrable), not in a worker slot. The event-driven
alternative without a sensor task, an `AssetWatcher` with `DvcNewVersionEventTrigger`, is shown
in the sensors documentation.
"""

dag = build_data_arrival_dag(
    demo_pipeline("mlops_level1_ct", TriggerPolicy(), DOC, tags=("mlops", "level-1")),
    dag_id="mlops_data_arrival",
)
