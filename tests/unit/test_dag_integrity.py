"""Every DAG in dags/ imports cleanly, is documented, and parses without heavy imports."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

DAGS = Path(__file__).resolve().parents[2] / "dags"
EXPECTED = {
    "mlops_level0_manual",
    "mlops_level1_ct",
    "mlops_level2_cicd",
    "mlops_monitoring",
    "mlops_data_arrival",
}
HEAVY = ("torch", "mlflow", "great_expectations", "evidently", "dvc", "onnxruntime", "sklearn")


@pytest.fixture(scope="module")
def dagbag():
    from airflow.dag_processing.dagbag import BundleDagBag

    return BundleDagBag(dag_folder=DAGS, bundle_path=DAGS, safe_mode=False)


def test_every_dag_file_imports_without_errors(dagbag) -> None:
    assert dagbag.import_errors == {}
    assert set(dagbag.dag_ids) == EXPECTED


def test_every_dag_is_documented_owned_tagged_and_retried(dagbag) -> None:
    for dag_id in EXPECTED:
        dag = dagbag.dags[dag_id]
        assert dag.doc_md and len(dag.doc_md) > 100, f"{dag_id} lacks doc_md"
        assert dag.tags and "mlops" in dag.tags, f"{dag_id} lacks tags"
        assert dag.max_active_runs <= 4, f"{dag_id} allows too many runs at once"
        for task in dag.tasks:
            assert task.owner not in ("", "airflow"), f"{dag_id}.{task.task_id} has no owner"
            assert task.retries >= 1, f"{dag_id}.{task.task_id} has no retries"


def test_parsing_dags_imports_no_heavy_library() -> None:
    script = (
        "import json, sys\n"
        "from pathlib import Path\n"
        "from airflow.dag_processing.dagbag import BundleDagBag\n"
        f"bag = BundleDagBag(dag_folder=Path({str(DAGS)!r}), bundle_path=Path({str(DAGS)!r}),"
        " safe_mode=False)\n"
        "assert not bag.import_errors, bag.import_errors\n"
        f"print(json.dumps([m for m in {list(HEAVY)!r} if m in sys.modules]))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    ).stdout
    assert json.loads(out.strip().splitlines()[-1]) == []
