"""Extra links turn a task's XCom result into URLs, and only ever into http(s) URLs: reports
become the plugin's /mlops/reports/ routes on the API server, MLflow targets the MLflow UI."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import pytest

from airflow_mlops.plugins.links import (
    EXTRA_LINKS,
    DataDocsLink,
    DataRevisionLink,
    DriftReportLink,
    EvaluationReportLink,
    InferenceLogLink,
    MlflowModelVersionLink,
    MlflowRunLink,
    ParityReportLink,
    TrainingOutputLink,
)
from airflow_mlops.settings import ARTIFACT_ROOT_ENV

AIRFLOW = "http://airflow.example:8080"
RUN_ID = "0123456789abcdef0123456789abcdef"


@pytest.fixture
def mlflow_conn(monkeypatch: pytest.MonkeyPatch) -> str:
    url = "http://mlflow.example:5000"
    monkeypatch.setenv("AIRFLOW_CONN_MLFLOW_UI", json.dumps({"conn_type": "mlflow", "host": url}))
    return url


@pytest.fixture
def root(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """The artifact root and the API server's base URL that the links use."""
    monkeypatch.setenv(ARTIFACT_ROOT_ENV, str(tmp_path))
    monkeypatch.setenv("AIRFLOW__API__BASE_URL", AIRFLOW)
    return tmp_path


def test_mlflow_links_use_the_operators_connection(mlflow_conn: str) -> None:
    operator = SimpleNamespace(mlflow_conn_id="mlflow_ui")
    result = {"run_id": "abc", "experiment_id": "4", "name": "churn", "version": 3}
    assert MlflowRunLink().url(operator, result) == f"{mlflow_conn}/#/experiments/4/runs/abc"
    assert MlflowModelVersionLink().url(operator, result) == (
        f"{mlflow_conn}/#/models/churn/versions/3"
    )
    assert MlflowRunLink().url(operator, {"name": "churn"}) == ""
    assert MlflowModelVersionLink().url(operator, {"run_id": "abc"}) == ""


def test_mlflow_links_are_empty_without_a_tracking_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    operator = SimpleNamespace(mlflow_conn_id="no_such_conn")
    assert MlflowRunLink().url(operator, {"run_id": "abc"}) == ""


@pytest.mark.parametrize(
    ("link", "key", "file", "suffix"),
    [
        (DataDocsLink(), "data_docs_uri", "validation/ct/r1/validate/index.html", ""),
        (ParityReportLink(), "report_uri", "onnx/ct/r1/export/export_report.json", ""),
        (DriftReportLink(), "report_uri", "drift/mon/r1/drift/report.html", ""),
        (TrainingOutputLink(), "checkpoint_uri", "training/ct/r1/train", "/"),
        (InferenceLogLink(), "inference_log_uri", "inference_log/m/date=2026-01-01/a.parquet", ""),
    ],
)
def test_report_links_point_at_the_report_routes(
    root: Path, link, key: str, file: str, suffix: str
) -> None:
    operator = SimpleNamespace()
    expected = f"{AIRFLOW}/mlops/reports/{file.replace('=', '%3D')}{suffix}"
    assert link.url(operator, {key: str(root / file)}) == expected
    assert link.url(operator, {key: (root / file).as_uri()}) == expected
    assert link.url(operator, {key: "https://docs.example/index.html"}).startswith("https://")
    assert link.url(operator, {key: "javascript:alert(1)"}) == ""
    assert link.url(operator, {key: "/elsewhere/report.html"}) == ""
    assert link.url(operator, {key: str(root / "other" / "x" / "y" / "z.html")}) == ""
    assert link.url(operator, {}) == ""


def test_report_links_need_the_api_base_url(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRFLOW__API__BASE_URL", "")
    uri = str(root / "drift/mon/r1/drift/report.html")
    assert DriftReportLink().url(SimpleNamespace(), {"report_uri": uri}) == ""


def test_evaluation_report_link_serves_the_mlflow_artifact(root: Path) -> None:
    link, operator = EvaluationReportLink(), SimpleNamespace()
    for uri in (
        f"mlflow-artifacts:/3/{RUN_ID}/artifacts/evaluation/v2/report.md",
        f"file:///srv/mlartifacts/3/{RUN_ID}/artifacts/evaluation/v2/report.md",
    ):
        assert link.url(operator, {"report_uri": uri}) == (
            f"{AIRFLOW}/mlops/reports/mlflow/{RUN_ID}/evaluation/v2/report.md"
        )
    assert link.url(operator, {"report_uri": "s3://b/report.md"}) == ""
    assert link.url(operator, {}) == ""


@pytest.mark.parametrize(
    ("registry", "expected"),
    [
        (
            "https://user:secret@github.com/org/data.git",
            "https://github.com/org/data/commit/c0ffee",
        ),
        ("http://git.local:3000/org/data/", "http://git.local:3000/org/data/commit/c0ffee"),
        ("/srv/registry", ""),
        ("git@github.com:org/data.git", ""),
    ],
)
def test_data_revision_links_the_commit_on_the_forge(registry: str, expected: str) -> None:
    result = {"registry": registry, "rev": "main", "commit": "c0ffee"}
    assert DataRevisionLink().url(SimpleNamespace(), result) == expected
    assert DataRevisionLink().url(SimpleNamespace(), {"registry": registry}) == ""


@pytest.mark.parametrize(
    ("link", "pushed", "returned", "expected"),
    [
        (DataDocsLink(), "https://docs.example/v.html", None, "https://docs.example/v.html"),
        (DataDocsLink(), None, {"data_docs_uri": "https://d.example/"}, "https://d.example/"),
        (DriftReportLink(), "file:///elsewhere/report.html", None, ""),
        (DriftReportLink(), None, {"report_uri": "https://r.example/"}, "https://r.example/"),
        (DriftReportLink(), None, None, ""),
    ],
)
def test_report_links_read_the_pushed_key_first_then_the_result(
    monkeypatch: pytest.MonkeyPatch, root: Path, link, pushed, returned, expected: str
) -> None:
    """The pushed key survives a failed task (no return value), so it is read first."""
    from airflow_mlops.plugins import links

    values = {link.pushed_key: pushed, "return_value": returned}
    monkeypatch.setattr(links.XCom, "get_value", lambda *, ti_key, key: values[key])
    assert link.get_link(SimpleNamespace(), ti_key=SimpleNamespace()) == expected


def test_links_keep_airflows_own_xcom_keys() -> None:
    """Airflow stores each computed link under ``_link_<class>``; no link may reuse the key
    its operator pushes the report's URI under."""
    assert {link().xcom_key for link in EXTRA_LINKS} == {
        f"_link_{link.__name__}" for link in EXTRA_LINKS
    }


def test_one_link_class_per_target_on_every_producing_operator() -> None:
    from airflow_mlops.operators.data import DvcPullOperator
    from airflow_mlops.operators.evaluation import EvaluateAndPromoteOperator
    from airflow_mlops.operators.export import ExportOnnxOperator
    from airflow_mlops.operators.monitoring import DriftMonitorOperator
    from airflow_mlops.operators.register import RegisterModelOperator
    from airflow_mlops.operators.scoring import BatchPredictOperator
    from airflow_mlops.operators.training import TrainInDockerOperator
    from airflow_mlops.operators.validation import ValidateDataOperator
    from airflow_mlops.provider import get_provider_info

    assert len({link.name for link in EXTRA_LINKS}) == len(EXTRA_LINKS)
    assert get_provider_info()["extra-links"] == [
        f"{link.__module__}.{link.__qualname__}" for link in EXTRA_LINKS
    ]
    attached = {
        DvcPullOperator: [DataRevisionLink],
        ValidateDataOperator: [DataDocsLink],
        TrainInDockerOperator: [TrainingOutputLink],
        ExportOnnxOperator: [ParityReportLink],
        RegisterModelOperator: [MlflowRunLink, MlflowModelVersionLink],
        EvaluateAndPromoteOperator: [EvaluationReportLink],
        DriftMonitorOperator: [DriftReportLink],
        BatchPredictOperator: [InferenceLogLink],
    }
    for operator, links in attached.items():
        assert [type(link) for link in operator.operator_extra_links] == links, operator
    assert {link for links in attached.values() for link in links} == set(EXTRA_LINKS)
