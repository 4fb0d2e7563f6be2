"""Fixtures of the data-in tests: the demo registry's objects on a real S3 endpoint (moto)."""

from __future__ import annotations

import json
import uuid

import pytest


@pytest.fixture
def s3_remote(s3_server, demo_registry, monkeypatch: pytest.MonkeyPatch) -> str:
    """A fresh bucket holding the demo registry's DVC objects; an AWS connection named
    ``dvc_s3`` points at it. Yields the remote URL ``s3://<bucket>/dvcstore``."""
    import boto3

    bucket = f"dvc-{uuid.uuid4().hex[:12]}"
    s3 = boto3.client("s3", endpoint_url=s3_server, region_name="us-east-1")
    s3.create_bucket(Bucket=bucket)
    for path in demo_registry.remote.rglob("*"):
        if path.is_file():
            key = f"dvcstore/{path.relative_to(demo_registry.remote).as_posix()}"
            s3.upload_file(str(path), bucket, key)
    connection = {
        "conn_type": "aws",
        "login": "testing",
        "password": "testing",
        "extra": {"endpoint_url": s3_server, "region_name": "us-east-1"},
    }
    monkeypatch.setenv("AIRFLOW_CONN_DVC_S3", json.dumps(connection))
    return f"s3://{bucket}/dvcstore"
