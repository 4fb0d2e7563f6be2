"""Hand-written level 2: build, test, publish and deploy the training image (parse baseline)."""

from __future__ import annotations

import datetime as dt

from airflow.providers.docker.operators.docker import DockerOperator
from airflow.providers.standard.operators.python import PythonOperator
from airflow.providers.standard.operators.trigger_dagrun import TriggerDagRunOperator
from airflow.sdk import DAG, task


def _pull_sample() -> str:
    import dvc.api

    return dvc.api.get_url("data/train.csv", repo="/srv/registry", rev="main")


with DAG(
    "hand_level2_cicd",
    schedule=None,
    start_date=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
    catchup=False,
    max_active_runs=1,
    tags=["hand", "level-2"],
    default_args={"owner": "mlops", "retries": 1, "retry_delay": dt.timedelta(seconds=30)},
):
    sample = PythonOperator(task_id="pull_sample", python_callable=_pull_sample)

    @task
    def build_image() -> str:
        import docker

        image, _ = docker.from_env().images.build(path="/srv/pipeline", tag="training:next")
        return image.id

    test = DockerOperator(
        task_id="test_in_image",
        image="training:next",
        command="python -m pytest /pipeline/selftest -x -q",
        network_mode="none",
        user="1000:1000",
        auto_remove="success",
        mount_tmp_dir=False,
    )

    @task
    def onnx_parity_of_smoke_model() -> None:
        import onnxruntime

        onnxruntime.get_available_providers()

    @task
    def publish(image: str) -> str:
        import docker

        docker.from_env().images.get(image).tag("registry.local/training", "next")
        return image

    @task
    def deploy(image: str) -> None:
        from airflow.sdk import Variable

        Variable.set("training_image", image)

    run_ct = TriggerDagRunOperator(task_id="run_ct", trigger_dag_id="hand_level1_ct")
    image = build_image()
    sample >> image >> test >> onnx_parity_of_smoke_model() >> deploy(publish(image)) >> run_ct
