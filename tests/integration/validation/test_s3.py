"""s3:// datasets go through the Airflow AWS connection to a real S3 endpoint (moto server)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from airflow_mlops.operators.validation import DataValidationFailed, ValidateDataOperator
from tests.support.corpus import build_corpus

pytestmark = pytest.mark.integration


@pytest.fixture
def bucket(s3_server: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> str:
    import boto3

    monkeypatch.setenv(
        "AIRFLOW_CONN_MOTO_S3",
        json.dumps({"conn_type": "aws", "extra": {"endpoint_url": s3_server}}),
    )
    client = boto3.client("s3", endpoint_url=s3_server, region_name="us-east-1")
    name = f"validation-{tmp_path.name.lower().replace('_', '-')}"[:60]
    client.create_bucket(Bucket=name)
    for case, path in build_corpus(tmp_path / "corpus").items():
        if case in ("clean", "unseen_category", "truncated_row"):
            client.upload_file(str(path), name, f"data/{path.name}")
    return name


def _operator(bucket: str, tmp_path: Path, dataset: str) -> ValidateDataOperator:
    return ValidateDataOperator(
        task_id="validate",
        dataset=f"s3://{bucket}/data/{dataset}",
        reference=f"s3://{bucket}/data/clean.csv",
        label_column="malignant",
        aws_conn_id="moto_s3",
        artifact_root=str(tmp_path / "artifacts"),
    )


def test_s3_dataset_passes_and_fails_through_the_connection(
    bucket: str, tmp_path: Path, task_context: Callable[..., dict[str, Any]]
) -> None:
    result = _operator(bucket, tmp_path, "clean.csv").execute(task_context("validate"))
    assert result["outcome"] == "pass"
    assert result["dataset"] == f"s3://{bucket}/data/clean.csv"
    with pytest.raises(DataValidationFailed, match="unknown-site"):
        _operator(bucket, tmp_path, "unseen_category.csv").execute(task_context("validate"))
    with pytest.raises(DataValidationFailed, match="truncated row"):
        _operator(bucket, tmp_path, "truncated_row.csv").execute(task_context("validate"))


def test_missing_s3_object_is_a_clear_failure(
    bucket: str, tmp_path: Path, task_context: Callable[..., dict[str, Any]]
) -> None:
    with pytest.raises(DataValidationFailed, match="does not exist"):
        _operator(bucket, tmp_path, "nope.csv").execute(task_context("validate"))
