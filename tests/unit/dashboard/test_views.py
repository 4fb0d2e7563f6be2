"""The API's answers without a server: input checks, and no mlflow import."""

from __future__ import annotations

import subprocess
import sys

import pytest

from airflow_mlops.dashboard.links import LinkBuilder
from airflow_mlops.dashboard.views import (
    MAX_VERSION,
    check_page_size,
    model_view,
    versions_page,
)
from airflow_mlops.errors import ConfigError


@pytest.mark.parametrize("name", ["", "x' OR name LIKE '%", "back\\slash", "n" * 300])
def test_model_names_that_would_break_a_filter_are_refused(name: str) -> None:
    with pytest.raises(ConfigError, match="Invalid model name"):
        model_view("http://127.0.0.1:9", name, LinkBuilder(None))


@pytest.mark.parametrize("limit", [0, -1, 1001])
def test_page_sizes_outside_1_to_1000_are_refused(limit: int) -> None:
    assert check_page_size(1) == 1 and check_page_size(1000) == 1000
    with pytest.raises(ConfigError, match="versions per page") as refused:
        versions_page("http://127.0.0.1:9", "m", LinkBuilder(None), before=5, limit=limit)
    assert "ui_versions_per_page" in refused.value.hint


@pytest.mark.parametrize("before", [0, -1, MAX_VERSION + 1, 10**30, True])
def test_a_before_that_is_no_version_number_is_refused_before_mlflow(before: int) -> None:
    """The API answers 400 (ConfigError) with this message, not MLflow's internal error."""
    with pytest.raises(ConfigError, match="Invalid 'before' version number") as refused:
        versions_page("http://127.0.0.1:9", "m", LinkBuilder(None), before=before)
    assert str(MAX_VERSION) in refused.value.hint


def test_the_page_data_core_never_imports_mlflow() -> None:
    """``import mlflow`` takes seconds: the api-server's first request must not pay it."""
    code = (
        "import sys, airflow_mlops.dashboard, airflow_mlops.mlflow_rest; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('mlflow', 'pandas')))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_the_gates_evaluation_is_read_beside_its_report() -> None:
    import json

    from airflow_mlops.dashboard.reads import evaluation

    run = "0123456789abcdef0123456789abcdef"
    asked: list[tuple[str, str]] = []

    class Rest:
        def artifact(self, run_id: str, path: str) -> bytes:
            asked.append((run_id, path))
            if path != "evaluation/v3/evaluation.json":
                raise FileNotFoundError(path)
            return json.dumps({"model": "m"}).encode()

    report = f"mlflow-artifacts:/1/{run}/artifacts/evaluation/v3/report.md"
    assert evaluation(Rest(), report) == {"model": "m"}
    assert asked == [(run, "evaluation/v3/evaluation.json")]
    assert evaluation(Rest(), f"mlflow-artifacts:/1/{run}/artifacts/other/report.md") is None
    assert evaluation(Rest(), "/tmp/report.md") is None and evaluation(Rest(), None) is None
