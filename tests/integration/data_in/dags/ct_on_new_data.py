"""A CT-style DAG started by new data: it records why it ran and pulls the announced version."""

from __future__ import annotations

import os

from airflow.sdk import DAG, Asset, task

from airflow_mlops.assets import data_asset_uri
from airflow_mlops.operators.data import DvcPullOperator

with DAG(dag_id="ct_on_new_data", schedule=[Asset(data_asset_uri("cancer"))], catchup=False):

    @task
    def record_trigger(**context) -> dict:
        from airflow_mlops.ct.triggers import classify_trigger

        extras = [
            event.extra
            for events in context["triggering_asset_events"].values()
            for event in events
        ]
        run = context["dag_run"]
        return classify_trigger(run.run_type, run.conf, extras).as_dict()

    trigger = record_trigger()
    pull = DvcPullOperator(
        task_id="pull",
        registry=os.environ.get("DATA_IN_REGISTRY", "/nonexistent"),
        targets=["data/cancer.csv"],
        rev="{{ ti.xcom_pull(task_ids='record_trigger')['data_rev'] }}",
        remote_url=os.environ.get("DATA_IN_REMOTE"),
    )
    trigger >> pull
