"""The real Docker engine and the training image, built once per session from docker/."""

from __future__ import annotations

import os
import subprocess
import uuid
from pathlib import Path

import pytest

from airflow_mlops.data.demo import breast_cancer_frame

REPO_ROOT = Path(__file__).resolve().parents[3]
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


@pytest.fixture(scope="session")
def demo_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo dataset as CSV in a directory of its own (mounted read-only)."""
    path = tmp_path_factory.mktemp("data") / "cancer.csv"
    breast_cancer_frame().to_csv(path, index=False)
    path.parent.chmod(0o755)  # the container's non-root user reads it
    path.chmod(0o644)
    return path


@pytest.fixture
def run_label() -> dict[str, str]:
    """A label unique to one test, to find every container it created."""
    return {"airflow-mlops.test": uuid.uuid4().hex}


@pytest.fixture
def leftover_containers(run_label: dict[str, str]):
    """A function listing the containers (running or not) that this test left behind."""
    ((key, value),) = run_label.items()

    def ids() -> list[str]:
        command = ["docker", "ps", "-aq", "--filter", f"label={key}={value}"]
        return subprocess.run(command, capture_output=True, text=True, check=True).stdout.split()

    return ids
