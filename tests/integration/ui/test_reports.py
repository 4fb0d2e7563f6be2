"""The report routes mounted in Airflow's own app, auth on: files of the artifact root and an
MLflow run's artifacts from a real tracking server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from airflow_mlops.plugins.reports import SANDBOXED
from airflow_mlops.settings import ARTIFACT_ROOT_ENV
from tests.integration.ui.conftest import token_for

pytestmark = pytest.mark.integration

DOCS = "validation/mlops_level1_ct/manual__1/validate_data/index.html"


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    root = tmp_path_factory.mktemp("artifacts")
    (root / DOCS).parent.mkdir(parents=True)
    (root / DOCS).write_text("<html><h1>Validation results</h1></html>")
    (root.parent / "outside.txt").write_text("secret")
    patch = pytest.MonkeyPatch()
    patch.setenv(ARTIFACT_ROOT_ENV, str(root))
    yield root
    patch.undo()


@pytest.fixture(scope="module")
def client(airflow_app, root: Path) -> TestClient:
    return TestClient(airflow_app)


def test_reports_need_a_token(client: TestClient) -> None:
    assert client.get(f"/mlops/reports/{DOCS}").status_code == 401
    no_role = {"Authorization": f"Bearer {token_for(None)}"}
    assert client.get(f"/mlops/reports/{DOCS}", headers=no_role).status_code == 403


def test_a_viewer_reads_a_report_sandboxed_and_nothing_outside_the_root(
    client: TestClient,
) -> None:
    cookie = {"_token": token_for("viewer")}
    answer = client.get(f"/mlops/reports/{DOCS}", cookies=cookie)
    assert answer.status_code == 200 and "Validation results" in answer.text
    assert answer.headers["content-security-policy"] == SANDBOXED
    assert answer.headers["x-content-type-options"] == "nosniff"
    escape = "/mlops/reports/validation/mlops_level1_ct/%2E%2E/%2E%2E/%2E%2E/outside.txt"
    assert client.get(escape, cookies=cookie).status_code == 400
    missing = "/mlops/reports/validation/mlops_level1_ct/manual__1/validate_data/none.html"
    assert client.get(missing, cookies=cookie).status_code == 404


def test_an_mlflow_artifact_is_read_from_the_tracking_server(
    client: TestClient, seeded_registry
) -> None:
    from mlflow import MlflowClient

    run_id = seeded_registry.run_ids["2"]
    mlflow = MlflowClient(seeded_registry.tracking_uri)
    mlflow.log_text(run_id, "# Gate\n![accuracy per slice](slices.png)\n", "evaluation/t/report.md")
    cookie = {"_token": token_for("viewer")}
    answer = client.get(f"/mlops/reports/mlflow/{run_id}/evaluation/t/report.md", cookies=cookie)
    assert answer.status_code == 200
    assert "# Gate" in answer.text and '<img src="slices.png"' in answer.text
    none = client.get(f"/mlops/reports/mlflow/{run_id}/evaluation/t/none.md", cookies=cookie)
    assert none.status_code == 404
