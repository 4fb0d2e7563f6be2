"""The report routes serve files of the artifact root, and nothing outside it."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from airflow_mlops.plugins.reports import (
    OWN_PAGE,
    SANDBOXED,
    check_relative,
    create_router,
    report_path,
    report_url,
)

RUN = "validation/ct/manual__1/validate"


@pytest.fixture
def root(tmp_path: Path) -> Path:
    docs = tmp_path / "artifacts" / RUN
    docs.mkdir(parents=True)
    (docs / "index.html").write_text("<html><script>1</script>Data docs</html>")
    (docs / "report.json").write_text('{"success": true}')
    onnx = tmp_path / "artifacts" / "onnx" / "ct" / "manual__1" / "export"
    onnx.mkdir(parents=True)
    (onnx / "export_report.json").write_text('{"parity_max_abs": 0.0}')
    (tmp_path / "secret.txt").write_text("outside")
    return tmp_path / "artifacts"


def client_for(root: str, artifacts: dict[tuple[str, str], bytes] | None = None) -> TestClient:
    def read(run_id: str, path: str) -> bytes:
        if (run_id, path) not in (artifacts or {}):
            raise FileNotFoundError(path)
        return (artifacts or {})[run_id, path]

    app = FastAPI()
    app.include_router(create_router(root=lambda: root, mlflow_artifact=read))
    return TestClient(app)


def test_serves_files_of_the_artifact_root_with_their_type(root: Path) -> None:
    client = client_for(str(root))
    answer = client.get(f"/reports/{RUN}/index.html")
    assert answer.status_code == 200 and "Data docs" in answer.text
    assert answer.headers["content-security-policy"] == SANDBOXED
    answer = client.get("/reports/onnx/ct/manual__1/export/export_report.json")
    assert answer.json() == {"parity_max_abs": 0.0}
    assert answer.headers["content-security-policy"] == OWN_PAGE


def test_a_folder_shows_its_index_or_a_listing(root: Path) -> None:
    client = client_for(root.as_uri())
    answer = client.get(f"/reports/{RUN}", follow_redirects=False)
    assert answer.status_code == 307 and answer.headers["location"] == "validate/"
    assert "Data docs" in client.get(f"/reports/{RUN}/").text
    listing = client.get("/reports/onnx/ct/manual__1/export/")
    assert listing.status_code == 200 and 'href="export_report.json"' in listing.text


@pytest.mark.parametrize(
    ("path", "status"),
    [
        (f"/reports/{RUN}/missing.html", 404),
        ("/reports/validation/ct/%2E%2E/%2E%2E/%2E%2E/secret.txt", 400),
        ("/reports/validation/ct/run//etc/passwd", 400),
        ("/reports/validation/ct/run/a%5C..%5Csecret.txt", 400),
        ("/reports/inference_log/model/x.parquet", 404),
    ],
)
def test_refuses_paths_out_of_the_root_and_answers_404_for_missing(
    root: Path, path: str, status: int
) -> None:
    assert client_for(str(root)).get(path).status_code == status


def test_a_symlink_out_of_the_root_is_refused(root: Path) -> None:
    (root / RUN / "leak.txt").symlink_to(root.parent / "secret.txt")
    (root / RUN / "inside.json").symlink_to(root / RUN / "report.json")
    client = client_for(str(root))
    assert client.get(f"/reports/{RUN}/leak.txt").status_code == 400
    assert client.get(f"/reports/{RUN}/inside.json").json() == {"success": True}


def test_object_storage_roots_go_through_object_storage_path() -> None:
    from airflow.sdk import ObjectStoragePath

    report = ObjectStoragePath("memory://reports-test/artifacts/drift/ct/r/drift/report.html")
    report.parent.mkdir(parents=True, exist_ok=True)
    report.write_text("<html>Drift report</html>")
    client = client_for("memory://reports-test/artifacts")
    answer = client.get("/reports/drift/ct/r/drift/report.html")
    assert answer.status_code == 200 and "Drift report" in answer.text
    assert client.get("/reports/drift/ct/r/drift/none.html").status_code == 404


def test_an_mlflow_markdown_report_is_rendered_with_its_plots(root: Path) -> None:
    report = b"# Gate\n| model | accuracy |\n![accuracy per slice](slices.png)\n<script>x</script>"
    client = client_for(str(root), {("abc", "evaluation/v2/report.md"): report})
    answer = client.get("/reports/mlflow/abc/evaluation/v2/report.md")
    assert answer.status_code == 200
    assert '<img src="slices.png" alt="accuracy per slice">' in answer.text
    assert "<script>" not in answer.text and "&lt;script&gt;" in answer.text
    assert client.get("/reports/mlflow/abc/evaluation/v2/slices.png").status_code == 404
    assert client.get("/reports/mlflow/abc/%2E%2E/x").status_code == 400


def test_an_inference_log_file_is_summarised_without_reading_rows(root: Path) -> None:
    import pandas as pd

    from airflow_mlops.monitoring.scoring import MODEL_VERSION, PREDICTION, SCORED_AT

    folder = root / "inference_log" / "m" / "date=2026-01-01"
    folder.mkdir(parents=True)
    frame = pd.DataFrame(
        {"x": [1.0, 2.0, 3.0], PREDICTION: [0, 1, 1], MODEL_VERSION: ["2", "2", "3"]}
    ).assign(**{SCORED_AT: "2026-01-01T10:00:00"})
    frame.to_parquet(folder / "run.parquet")
    client = client_for(str(root))
    answer = client.get("/reports/inference_log/m/date=2026-01-01/run.parquet")
    assert answer.status_code == 200
    assert "3 rows" in answer.text and "<th>model_version</th><td>2</td><td>3</td>" in answer.text
    listing = client.get("/reports/inference_log/m/date=2026-01-01/")
    assert 'href="run.parquet"' in listing.text


def test_report_path_maps_task_files_under_the_root_only(root: Path) -> None:
    docs = root / RUN / "index.html"
    assert report_path(docs.as_uri(), str(root)) == f"{RUN}/index.html"
    assert report_path(str(docs), root.as_uri()) == f"{RUN}/index.html"
    assert report_path(str(root.parent / "secret.txt"), str(root)) is None
    assert report_path(str(root / "predictions" / "m" / "x.parquet"), str(root)) is None
    log = root / "inference_log" / "m" / "date=2026-01-01" / "x.parquet"
    assert report_path(str(log), str(root)) == "inference_log/m/date=2026-01-01/x.parquet"
    assert report_path("s3://b/a/drift/d/r/t/report.html", "s3://b/a") == (
        "drift/d/r/t/report.html"
    )
    assert report_path("s3://other/drift/d/r/t/report.html", "s3://b/a") is None
    assert report_path(None, str(root)) is None


def test_report_url_quotes_each_segment() -> None:
    assert report_url("http://airflow:8080/", "drift/d/manual__2026-01-01T00:00:00+00:00/t") == (
        "http://airflow:8080/mlops/reports/drift/d/manual__2026-01-01T00%3A00%3A00%2B00%3A00/t"
    )


@pytest.mark.parametrize("bad", ["", "/etc", "a/../b", "a//b", "./a", "a\\b", "a\x00b"])
def test_check_relative_refuses(bad: str) -> None:
    from airflow_mlops.plugins.reports import ReportRefused

    with pytest.raises(ReportRefused):
        check_relative(bad)
