"""The demo data for the training container and a label to find a test's containers (the
engine and image fixtures are in tests/conftest.py)."""

from __future__ import annotations

import subprocess
import uuid
from pathlib import Path

import pytest

from airflow_mlops.local.demo.dataset import breast_cancer_frame


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
