"""Publishing to ECR through the amazon provider, against moto's server for the ECR API.

What runs here: the repository lookup and EcrHook's login token (GetAuthorizationToken) through
an Airflow AWS connection, publish_image's login, tag, push and digest pinning with the Docker
CLI calls recorded, and that the lineage's image digest is then the pushed one.
What cannot: a real push, since moto serves ECR's API but no image
registry, and these machines reach none.
"""

from __future__ import annotations

import json
import subprocess
import uuid

import boto3
import pytest

from airflow_mlops import cicd
from airflow_mlops.operators.cicd import PublishTrainingImageOperator
from airflow_mlops.training.code import image_content_digest

pytestmark = pytest.mark.integration

DIGEST = "sha256:" + "ab" * 32


@pytest.fixture
def ecr_repository(s3_server, moto_aws_connection) -> str:
    """A repository on moto's ECR; an AWS connection ``aws_ecr`` pointing at it."""
    moto_aws_connection("aws_ecr")
    client = boto3.client(
        "ecr", endpoint_url=s3_server, region_name="us-east-1",
        aws_access_key_id="testing", aws_secret_access_key="testing",
    )  # fmt: skip
    name = f"airflow-mlops-train-{uuid.uuid4().hex[:8]}"  # moto's server lives all session
    return client.create_repository(repositoryName=name)["repository"]["repositoryUri"]


def test_the_login_token_comes_from_ecr_through_the_provider(ecr_repository) -> None:
    operator = PublishTrainingImageOperator(task_id="publish", image="t:1", aws_conn_id="aws_ecr")
    auth = operator.registry_auth(ecr_repository)
    assert auth["username"] == "AWS" and auth["password"]
    # the registry of the repository's account, where `docker login` must go
    account = ecr_repository.split(".", 1)[0]
    assert auth["registry"].startswith(f"https://{account}.dkr.ecr.us-east-1.amazonaws.com")


def test_publish_logs_in_pushes_and_returns_the_pushed_digest(ecr_repository, monkeypatch):
    operator = PublishTrainingImageOperator(task_id="publish", image="t:1", aws_conn_id="aws_ecr")
    auth = operator.registry_auth(ecr_repository)
    calls = []

    def docker(command, **kwargs):
        calls.append(command)
        out = json.dumps([f"{ecr_repository}@{DIGEST}"]) if "inspect" in command else ""
        return subprocess.CompletedProcess(command, 0, out, "")

    monkeypatch.setattr(cicd.subprocess, "run", docker)
    pushed = cicd.publish_image("airflow-mlops-train:abc123", ecr_repository, auth)
    assert pushed == f"{ecr_repository}@{DIGEST}"
    # deploy puts this reference in the Variable CT trains with; the run's lineage records the
    # image's content digest, which for a pinned reference is the pushed digest itself
    assert image_content_digest(pushed) == DIGEST
    login, tag, push = calls[:3]
    assert login[:4] == ["docker", "login", "--username", "AWS"] and login[-1] == auth["registry"]
    assert tag == ["docker", "tag", "airflow-mlops-train:abc123", f"{ecr_repository}:abc123"]
    assert push == ["docker", "push", f"{ecr_repository}:abc123"]
