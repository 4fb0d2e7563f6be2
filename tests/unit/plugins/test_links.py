"""Extra links turn a task's XCom result into URLs, and only ever into http(s) URLs."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest

from airflow_mlops.plugins.links import (
    DataDocsLink,
    DriftReportLink,
    MlflowModelVersionLink,
    MlflowRunLink,
)


@pytest.fixture
def mlflow_conn(monkeypatch: pytest.MonkeyPatch) -> str:
    url = "http://mlflow.example:5000"
    monkeypatch.setenv("AIRFLOW_CONN_MLFLOW_UI", json.dumps({"conn_type": "mlflow", "host": url}))
    return url


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
    ("link", "key"), [(DataDocsLink(), "data_docs_uri"), (DriftReportLink(), "report_uri")]
)
def test_document_links_accept_only_http_urls(link, key: str) -> None:
    operator = SimpleNamespace()
    assert link.url(operator, {key: "https://docs.example/index.html"}) == (
        "https://docs.example/index.html"
    )
    assert link.url(operator, {key: "javascript:alert(1)"}) == ""
    assert link.url(operator, {key: "s3://bucket/docs/index.html"}) == ""
    assert link.url(operator, {}) == ""
