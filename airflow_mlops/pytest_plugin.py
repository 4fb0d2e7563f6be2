"""Pipeline tests for your own DAGs, as a pytest plugin (entry point ``pytest11``).

Installed with airflow-mlops, it gives any project these fixtures and checks::

    def test_my_dags(mlops_dagbag):
        assert mlops_dagbag.import_errors == {}
        assert dag_problems(mlops_dagbag) == []

    def test_parsing_stays_light(mlops_dags_folder):
        assert heavy_imports_when_parsing(mlops_dags_folder) == []

The DAGs folder is the ini option ``mlops_dags_folder`` (default ``dags``). The level-2 DAG runs
the training side of the same idea inside the image (:mod:`airflow_mlops.training.selftest`).
Nothing here imports Airflow until a fixture is used.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

#: libraries a DAG file must not import while it is parsed
HEAVY_MODULES = (
    "torch", "mlflow", "great_expectations", "evidently", "dvc", "onnxruntime", "sklearn",
)  # fmt: skip


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addini("mlops_dags_folder", "the DAGs folder the mlops fixtures check", default="dags")


@pytest.fixture(scope="session")
def mlops_dags_folder(pytestconfig: pytest.Config) -> Path:
    """The DAGs folder named by the ``mlops_dags_folder`` ini option, from the rootdir."""
    return (pytestconfig.rootpath / pytestconfig.getini("mlops_dags_folder")).resolve()


@pytest.fixture(scope="session")
def mlops_dagbag(mlops_dags_folder: Path) -> Any:
    """Every DAG of the folder, parsed as the DAG processor does (no database needed)."""
    return parse_dags(mlops_dags_folder)


def parse_dags(folder: Path) -> Any:
    """A ``BundleDagBag`` of ``folder``; ``import_errors`` lists the broken files."""
    from airflow.dag_processing.dagbag import BundleDagBag

    return BundleDagBag(dag_folder=folder, bundle_path=folder, safe_mode=False)


def dag_problems(dagbag: Any, *, max_active_runs: int = 4) -> list[str]:
    """What a production DAG lacks: documentation, tags, an owner, retries, a run limit."""
    problems = []
    for dag_id, dag in sorted(dagbag.dags.items()):
        if not dag.doc_md or len(dag.doc_md) < 100:
            problems.append(f"{dag_id}: doc_md missing or shorter than 100 characters")
        if not dag.tags:
            problems.append(f"{dag_id}: no tags")
        if dag.max_active_runs > max_active_runs:
            problems.append(f"{dag_id}: max_active_runs={dag.max_active_runs} > {max_active_runs}")
        for task in dag.tasks:
            if task.owner in ("", "airflow"):
                problems.append(f"{dag_id}.{task.task_id}: no owner")
            if task.retries < 1:
                problems.append(f"{dag_id}.{task.task_id}: no retries")
    return problems


def heavy_imports_when_parsing(folder: Path, heavy: tuple[str, ...] = HEAVY_MODULES) -> list[str]:
    """The heavy libraries that parsing ``folder`` imports, measured in a fresh interpreter."""
    script = (
        "import json, sys\n"
        "from pathlib import Path\n"
        "from airflow_mlops.pytest_plugin import parse_dags\n"
        f"bag = parse_dags(Path({str(folder)!r}))\n"
        "assert not bag.import_errors, bag.import_errors\n"
        f"print(json.dumps([m for m in {list(heavy)!r} if m in sys.modules]))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    if done.returncode != 0:
        raise AssertionError(f"parsing {folder} failed:\n{done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])
