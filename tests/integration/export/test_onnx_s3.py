"""ExportOnnxOperator with the checkpoint and the export on a real S3 endpoint (moto)."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest

from airflow_mlops.export.runtime import OnnxPredictor
from airflow_mlops.local.demo import dataset as demo
from airflow_mlops.operators.export import ExportOnnxOperator
from airflow_mlops.training.config import TrainingConfig
from airflow_mlops.training.loop import train

pytestmark = pytest.mark.integration


@pytest.fixture
def bucket(s3_server: str, moto_aws_connection) -> str:
    """A fresh bucket; the AWS connection ``models_s3`` points at the moto endpoint."""
    import boto3

    name = f"models-{uuid.uuid4().hex[:12]}"
    boto3.client("s3", endpoint_url=s3_server, region_name="us-east-1").create_bucket(Bucket=name)
    moto_aws_connection("models_s3")
    return name


def test_checkpoint_from_s3_export_to_s3(
    task_context, bucket: str, s3_server: str, tmp_path: Path
) -> None:
    import boto3

    local = tmp_path / "checkpoint"
    config = TrainingConfig(label=demo.LABEL, max_epochs=2, device="cpu", num_threads=1)
    train(demo.breast_cancer_frame(), config, local, log=lambda line: None)
    s3 = boto3.client("s3", endpoint_url=s3_server, region_name="us-east-1")
    for path in local.iterdir():
        s3.upload_file(str(path), bucket, f"runs/1/checkpoint/{path.name}")

    operator = ExportOnnxOperator(
        task_id="export",
        checkpoint_uri=f"s3://{bucket}/runs/1/checkpoint",
        output_uri=f"s3://{bucket}/runs/1/onnx",
        conn_id="models_s3",
        sample_rows=64,
        latency_batches=(1,),
    )
    result = operator.execute(task_context("export", dag_id="ct", run_id="r1"))

    assert result["onnx_uri"] == f"s3://{bucket}/runs/1/onnx/model.onnx"
    keys = {o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix="runs/1/onnx/")["Contents"]}
    assert keys == {"runs/1/onnx/model.onnx", "runs/1/onnx/export_report.json"}
    downloaded = tmp_path / "model.onnx"
    s3.download_file(bucket, "runs/1/onnx/model.onnx", str(downloaded))
    predictor = OnnxPredictor.load(downloaded)
    assert predictor.predict(demo.breast_cancer_frame().head(5)).shape == (5,)
    report = json.loads(
        s3.get_object(Bucket=bucket, Key="runs/1/onnx/export_report.json")["Body"].read()
    )
    assert report["sha256"] == result["sha256"]
