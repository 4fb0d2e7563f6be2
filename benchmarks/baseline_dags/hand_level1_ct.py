"""Hand-written level 1: continuous training on a schedule or new data (parse baseline)."""

from __future__ import annotations

import datetime as dt

from airflow.providers.docker.operators.docker import DockerOperator
from airflow.providers.standard.operators.python import PythonOperator
from airflow.sdk import DAG, Asset, AssetOrTimeSchedule, CronTriggerTimetable, Param, task
from docker.types import Mount

MODEL = Asset("x-mlops://model/hand")
PARAMS = {
    "data_rev": Param("main", type="string", description="Dataset revision."),
    "epochs": Param(20, type="integer", minimum=1, maximum=1000),
    "learning_rate": Param(0.001, type="number", exclusiveMinimum=0),
    "hidden_sizes": Param([64, 32], type="array", items={"type": "integer"}),
    "batch_size": Param(64, type="integer", minimum=1),
    "seed": Param(0, type="integer"),
    "promote": Param(False, type="boolean"),
}


def _pull(rev: str) -> str:
    import dvc.api

    return dvc.api.get_url("data/train.csv", repo="/srv/registry", rev=rev)


with DAG(
    "hand_level1_ct",
    schedule=AssetOrTimeSchedule(
        timetable=CronTriggerTimetable("0 2 * * *", timezone="UTC"),
        assets=Asset("x-mlops://data/hand") | Asset("x-mlops://drift/hand"),
    ),
    start_date=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
    catchup=False,
    max_active_runs=1,
    params=PARAMS,
    tags=["hand", "level-1"],
    default_args={"owner": "mlops", "retries": 1, "retry_delay": dt.timedelta(seconds=30)},
):

    @task
    def prepare_run(params: dict | None = None) -> dict:
        return dict(params or {})

    pull = PythonOperator(
        task_id="pull_data", python_callable=_pull, op_args=["{{ params.data_rev }}"]
    )
    reference = PythonOperator(task_id="pull_reference", python_callable=_pull, op_args=["main"])

    @task.short_circuit
    def check_fingerprint(url: str) -> bool:
        import hashlib

        return bool(hashlib.md5(url.encode()).hexdigest())

    @task
    def validate_data(url: str) -> None:
        import great_expectations as gx

        gx.get_context(mode="ephemeral")

    train = DockerOperator(
        task_id="train",
        image="training:latest",
        command="python -m train --epochs {{ params.epochs }} --lr {{ params.learning_rate }}",
        mounts=[Mount(source="/srv/data", target="/data", type="bind", read_only=True)],
        network_mode="none",
        auto_remove="success",
        mount_tmp_dir=False,
    )

    @task
    def export_onnx() -> str:
        import torch

        return torch.__version__

    @task
    def register_model(path: str) -> str:
        import mlflow

        return mlflow.__version__

    @task(outlets=[MODEL])
    def evaluate_and_promote(version: str, params: dict | None = None) -> None:
        import mlflow

        mlflow.MlflowClient()

    url = pull.output
    checked = check_fingerprint(url)
    validated = validate_data(url)
    prepare_run() >> [pull, reference]
    [checked, validated, reference] >> train
    evaluate_and_promote(register_model(train >> export_onnx()))
