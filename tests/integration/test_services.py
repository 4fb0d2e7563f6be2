"""The service fixtures start real services that answer."""

from __future__ import annotations

import json
import urllib.request

import pytest

from airflow_mlops.local.demo.registry import dvc_argv, run_tool

pytestmark = pytest.mark.integration


def test_mlflow_server_answers_and_records_an_experiment(mlflow_server: str) -> None:
    request = urllib.request.Request(
        f"{mlflow_server}/api/2.0/mlflow/experiments/create",
        data=json.dumps({"name": "fixture-check"}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        assert json.load(response)["experiment_id"]


def test_s3_server_stores_and_returns_an_object(s3_server: str) -> None:
    import boto3

    s3 = boto3.client("s3", endpoint_url=s3_server, region_name="us-east-1")
    s3.create_bucket(Bucket="fixture-check")
    s3.put_object(Bucket="fixture-check", Key="a/b.txt", Body=b"hello")
    assert s3.get_object(Bucket="fixture-check", Key="a/b.txt")["Body"].read() == b"hello"


def test_publishing_a_version_moves_main_forward(demo_registry) -> None:
    from airflow_mlops.local.demo.registry import publish_version

    commit = publish_version(demo_registry.repo, "v2")
    assert commit == run_tool(["git", "rev-parse", "v2^{commit}"], demo_registry.repo).strip()
    rows = (demo_registry.repo / demo_registry.dataset_path).read_text().count("\n") - 1
    assert rows == 569


def test_demo_registry_has_every_version_pushed_to_its_remote(demo_registry) -> None:
    tags = run_tool(["git", "tag"], demo_registry.repo).split()
    assert sorted(tags) == sorted(demo_registry.versions)
    status = run_tool(dvc_argv("status", "--cloud", "--all-tags"), demo_registry.repo)
    assert run_tool(["git", "rev-parse", "main"], demo_registry.repo) == run_tool(
        ["git", "rev-parse", "v1^{commit}"], demo_registry.repo
    )
    assert "new" not in status and "deleted" not in status
