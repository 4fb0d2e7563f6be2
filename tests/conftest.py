"""Shared fixtures: real services on free loopback ports, each cleaned up after the session.

Airflow reads its configuration when first imported, so the isolated ``AIRFLOW_HOME`` is set
here, at import time, before any test module imports Airflow.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
_SESSION_DIR = Path(tempfile.mkdtemp(prefix="airflow-mlops-tests-"))
os.environ["AIRFLOW_HOME"] = str(_SESSION_DIR / "airflow")
os.environ["AIRFLOW__CORE__DAGS_FOLDER"] = str(REPO_ROOT / "dags")
os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
os.environ["AIRFLOW__CORE__UNIT_TEST_MODE"] = "True"
os.environ["AIRFLOW_MLOPS_HOME"] = str(_SESSION_DIR / "mlops-home")
os.environ.setdefault("DVC_NO_ANALYTICS", "1")
os.environ.setdefault("GIT_PYTHON_REFRESH", "quiet")


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    shutil.rmtree(_SESSION_DIR, ignore_errors=True)


@pytest.fixture(scope="session")
def session_dir() -> Path:
    """A temporary directory shared by the whole test session."""
    return _SESSION_DIR


@pytest.fixture
def task_context() -> Callable[..., dict[str, Any]]:
    """``task_context(task_id=None, *, task=None, run_id=..., run_type=..., **overrides)``: a
    fake task context whose ``ti.pushed`` records XCom pushes (:mod:`tests.support.context`)."""
    from tests.support.context import make_task_context

    return make_task_context


@pytest.fixture(scope="session")
def airflow_db() -> Path:
    """An isolated ``AIRFLOW_HOME`` with a migrated SQLite metadata database."""
    from airflow.utils import db

    db.initdb()
    return Path(os.environ["AIRFLOW_HOME"])


@pytest.fixture(scope="session")
def mlflow_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real MLflow tracking server (SQLite backend, local artifacts); yields its URL."""
    from airflow_mlops.errors import ServiceError
    from airflow_mlops.local.services import (
        free_port,
        mlflow_server_spec,
        start_service,
        stop_service,
    )

    root = tmp_path_factory.mktemp("mlflow")
    for attempt in (1, 2):  # MLflow's first DB migration is occasionally flaky on a fresh store
        spec = mlflow_server_spec(root / f"store-{attempt}", free_port())
        try:
            service = start_service(spec, run_dir=root / "run", log_dir=root / "logs")
            break
        except ServiceError:
            if attempt == 2:
                raise
    yield f"http://127.0.0.1:{spec.port}"
    stop_service(service.name, root / "run")


@pytest.fixture(scope="session")
def s3_server() -> Iterator[str]:
    """A real S3 endpoint (moto's server mode) with fake credentials; yields its URL."""
    from moto.server import ThreadedMotoServer

    from airflow_mlops.local.services import free_port

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port)
    server.start()
    saved = {k: os.environ.get(k) for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")}
    os.environ["AWS_ACCESS_KEY_ID"] = "testing"
    os.environ["AWS_SECRET_ACCESS_KEY"] = "testing"
    yield f"http://127.0.0.1:{port}"
    server.stop()
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


@pytest.fixture(scope="session")
def demo_registry_template(tmp_path_factory: pytest.TempPathFactory):
    """The demo DVC registry (git repo + local remote), built once per session. Do not modify."""
    from airflow_mlops.local.demo.registry import bootstrap_registry

    root = tmp_path_factory.mktemp("registry-template")
    return bootstrap_registry(root / "repo", root / "remote")


def copy_registry(template, root: Path):
    """A private copy of the registry ``template`` (repo and DVC remote) under ``root``."""
    from airflow_mlops.local.demo.registry import DemoRegistry, dvc_argv, run_tool

    repo, remote = root / "registry", root / "remote"
    shutil.copytree(template.remote, remote)
    shutil.copytree(template.repo, repo, symlinks=True)
    run_tool(dvc_argv("remote", "modify", "--local", "local", "url", str(remote)), repo)
    return DemoRegistry(repo=repo, remote=remote)


@pytest.fixture
def demo_registry(demo_registry_template, tmp_path: Path):
    """A private copy of the demo registry that a test may modify freely."""
    return copy_registry(demo_registry_template, tmp_path)


@pytest.fixture
def moto_aws_connection(s3_server: str, monkeypatch: pytest.MonkeyPatch) -> Callable[[str], None]:
    """``define(conn_id)``: an Airflow AWS connection ``conn_id`` to the moto S3 endpoint."""

    def define(conn_id: str) -> None:
        connection = {
            "conn_type": "aws",
            "login": "testing",
            "password": "testing",
            "extra": {"endpoint_url": s3_server, "region_name": "us-east-1"},
        }
        monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps(connection))

    return define


@pytest.fixture
def s3_remote(s3_server, demo_registry, moto_aws_connection) -> str:
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
    moto_aws_connection("dvc_s3")
    return f"s3://{bucket}/dvcstore"


# --- Docker: the real engine and the training image -------------------------------------------

BASE_IMAGE = os.environ.get("AIRFLOW_MLOPS_BASE_IMAGE", "local/bookworm-py:base")


def _engine_problem() -> str | None:
    try:
        done = subprocess.run(["docker", "image", "inspect", BASE_IMAGE], capture_output=True)
    except FileNotFoundError:
        return "the docker CLI is not installed"
    if done.returncode != 0:
        return f"no Docker engine or no base image {BASE_IMAGE} ({done.stderr.decode().strip()})"
    return None


@pytest.fixture(scope="session")
def docker_engine() -> None:
    """Skip (or fail, with AIRFLOW_MLOPS_REQUIRE_DOCKER=1 as in CI) without an engine."""
    problem = _engine_problem()
    if problem:
        if os.environ.get("AIRFLOW_MLOPS_REQUIRE_DOCKER") == "1":
            pytest.fail(
                f"Docker tests are required here but {problem}; run scripts/ensure-docker.sh"
            )
        pytest.skip(problem)


@pytest.fixture(scope="session")
def build_training_image(docker_engine: None):
    """Build (or find by content hash) the training image from docker/; returns a BuiltImage."""
    from airflow_mlops.training.image import build_image

    return lambda: build_image(REPO_ROOT, base_image=BASE_IMAGE, log=lambda line: None)


@pytest.fixture(scope="session")
def training_image(build_training_image):
    """The training image of this session."""
    return build_training_image()
