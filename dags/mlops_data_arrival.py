"""Data arrival: announce each new version of the training data as an asset event."""

from __future__ import annotations

import datetime as dt

from airflow.sdk import DAG

from airflow_mlops.local.demo.pipeline import DATASET_NAME, demo_dataset
from airflow_mlops.sensors.data import DvcDataVersionSensor

DOC = """
### Data arrival

Watches `main` of the DVC data registry. When `data/cancer.csv` has a version whose md5 no
earlier event announced, the sensor emits an event on `x-mlops://data/cancer` with
`{"reason": "new_data", "rev", "commit", "md5"}` in its extra, which starts `mlops_level1_ct`.
The sensor waits in the triggerer (deferrable), not in a worker slot. The event-driven
alternative without a sensor task, an `AssetWatcher` with `DvcNewVersionEventTrigger`, is shown
in the sensors documentation.
"""

dataset = demo_dataset()

with DAG(
    dag_id="mlops_data_arrival",
    schedule="*/30 * * * *",
    start_date=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
    catchup=False,
    max_active_runs=1,
    tags=["mlops", "level-1", "data"],
    doc_md=DOC,
    default_args={"owner": "mlops", "retries": 1, "retry_delay": dt.timedelta(seconds=30)},
):
    DvcDataVersionSensor(
        task_id="wait_for_new_version",
        registry=dataset.registry,
        target=dataset.path,
        refs="refs/heads/main",
        dataset=DATASET_NAME,
        poke_interval=30,
        timeout=25 * 60,
    )
