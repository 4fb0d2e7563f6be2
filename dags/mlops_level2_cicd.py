"""MLOps level 2: CI/CD of the training pipeline, then continuous training with the new image."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

from airflow.providers.standard.operators.trigger_dagrun import TriggerDagRunOperator
from airflow.sdk import DAG, Variable, task

from airflow_mlops.local.demo.pipeline import BACKEND_ENV, demo_dataset
from airflow_mlops.operators.data import DvcPullOperator
from airflow_mlops.operators.export import ExportOnnxOperator
from airflow_mlops.variables import (
    BASE_IMAGE_VARIABLE,
    DEFAULT_BASE_IMAGE,
    ECR_REPOSITORY_VARIABLE,
    TRAINING_IMAGE_VARIABLE,
)

REPO = Path(__file__).resolve().parents[1]
DOC = """
### MLOps level 2: CI/CD of the pipeline

1. **Build** the training image from `docker/` (offline wheelhouse, content-hash tag: an
   unchanged pipeline builds nothing). Base image: Variable `mlops_base_image`.
2. **Test** the pipeline inside the new image, locked down (no network, read-only data,
   non-root): a smoke training whose loss falls and stays finite, a few-record overfit,
   loadable artifacts, determinism; then the smoke model's **ONNX parity** on the host.
3. **Publish** it: to the repository in Variable `mlops_ecr_repository` (e.g. an ECR URI,
   credentials from the AWS connection `aws_default`), else it stays on the local engine.
4. **Deploy** the pipeline: the image reference goes into Variable `mlops_training_image`,
   which the CT DAGs' training task reads.
5. **Run CT** (`mlops_level1_ct`) with the deployed image.

Without a Docker engine (`AIRFLOW_MLOPS_TRAINING_BACKEND=local`) steps 1, 3 and 4 are skipped and
the self-test runs in the worker's environment.
"""

dataset = demo_dataset()


with DAG(
    dag_id="mlops_level2_cicd",
    schedule=None,
    start_date=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
    catchup=False,
    max_active_runs=1,
    tags=["mlops", "level-2"],
    doc_md=DOC,
    default_args={"owner": "mlops", "retries": 1, "retry_delay": dt.timedelta(seconds=30)},
):
    sample = DvcPullOperator(
        task_id="pull_sample", registry=dataset.registry, targets=[dataset.path], rev="v1"
    )

    @task
    def build_image() -> dict:
        """Build (or find, by content hash) the training image."""
        if os.environ.get(BACKEND_ENV) == "local":
            return {"image": None, "built": False}
        from airflow_mlops.cicd import image_summary
        from airflow_mlops.training.image import build_image as build

        base = Variable.get(BASE_IMAGE_VARIABLE, default=DEFAULT_BASE_IMAGE)
        return image_summary(build(REPO, base_image=base))

    @task
    def test_in_image(image: dict, pulled: dict, **context) -> dict:
        """Run the pipeline self-test inside the image; fails the run if any check fails."""
        from airflow_mlops.cicd import run_selftest
        from airflow_mlops.errors import MlopsError
        from airflow_mlops.operators.exceptions import MlopsTaskError
        from airflow_mlops.settings import MlopsHome

        output = MlopsHome.from_env().artifacts / "cicd" / context["run_id"].replace(":", "_")
        try:
            report = run_selftest(
                image["image"], pulled["targets"][0]["local_path"], dataset.label, output
            )
        except MlopsError as error:
            raise MlopsTaskError.from_core(error) from error
        return {**report, "smoke_checkpoint": str(output / "smoke")}

    @task
    def publish(image: dict) -> str | None:
        """Push to the configured repository (ECR) or keep the local engine's image."""
        if image["image"] is None:
            return None
        from airflow_mlops.cicd import publish_image

        repository = Variable.get(ECR_REPOSITORY_VARIABLE, default=None)
        auth = None
        if repository:
            from airflow.providers.amazon.aws.hooks.ecr import EcrHook

            (credentials,) = EcrHook(aws_conn_id="aws_default").get_temporary_credentials(
                registry_ids=[repository.split(".", 1)[0]]
            )
            auth = {
                "username": credentials.username,
                "password": credentials.password,
                "registry": credentials.proxy_endpoint,
            }
        return publish_image(image["image"], repository, auth)

    @task
    def deploy(reference: str | None) -> str | None:
        """Record the tested image as the one the CT DAGs train with."""
        if reference:
            Variable.set(TRAINING_IMAGE_VARIABLE, reference)
        return reference

    built = build_image()
    tested = test_in_image(built, sample.output)
    parity = ExportOnnxOperator(
        task_id="onnx_parity_of_smoke_model",
        checkpoint_uri="{{ ti.xcom_pull(task_ids='test_in_image')['smoke_checkpoint'] }}",
        sample_uri="{{ ti.xcom_pull(task_ids='pull_sample')['targets'][0]['local_path'] }}",
    )
    published = publish(built)
    tested >> parity >> published  # nothing is published before every test passed
    run_ct = TriggerDagRunOperator(
        task_id="run_ct",
        trigger_dag_id="mlops_level1_ct",
        conf={"trigger": "manual"},
    )
    deploy(published) >> run_ct
