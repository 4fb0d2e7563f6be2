"""Sensor path: wait for an unprocessed version of the registry's dataset, emit the asset event."""

from __future__ import annotations

import os

from airflow.sdk import DAG

from airflow_mlops.sensors.data import DvcDataVersionSensor

with DAG(dag_id="dvc_new_data", schedule=None, catchup=False):
    DvcDataVersionSensor(
        task_id="wait_for_new_version",
        registry=os.environ.get("DATA_IN_REGISTRY", "/nonexistent"),
        target="data/cancer.csv",
        refs="refs/tags/v[0-9]",
        poke_interval=1,
        timeout=120,
    )
