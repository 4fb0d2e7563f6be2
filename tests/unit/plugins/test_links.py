"""Extra links turn a task's XCom result into URLs, and only ever into http(s) URLs."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest

from airflow_mlops.plugins.links import (
    EXTRA_LINKS,
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


@pytest.mark.parametrize(
    ("link", "pushed", "returned", "expected"),
    [
        (DataDocsLink(), "https://docs.example/v.html", None, "https://docs.example/v.html"),
        (DataDocsLink(), None, {"data_docs_uri": "https://d.example/"}, "https://d.example/"),
        (DriftReportLink(), "file:///tmp/report.html", None, ""),
        (DriftReportLink(), None, {"report_uri": "https://r.example/"}, "https://r.example/"),
        (DriftReportLink(), None, None, ""),
    ],
)
def test_document_links_read_the_pushed_key_first_then_the_result(
    monkeypatch: pytest.MonkeyPatch, link, pushed, returned, expected: str
) -> None:
    """The pushed key survives a failed task (no return value), so it is read first."""
    from airflow_mlops.plugins import links

    values = {link.xcom_key: pushed, "return_value": returned}
    monkeypatch.setattr(links.XCom, "get_value", lambda *, ti_key, key: values[key])
    assert link.get_link(SimpleNamespace(), ti_key=SimpleNamespace()) == expected


def test_one_link_class_per_target_and_the_provider_lists_them() -> None:
    from airflow_mlops.operators.monitoring import DriftMonitorOperator
    from airflow_mlops.operators.validation import ValidateDataOperator
    from airflow_mlops.provider import get_provider_info

    assert len({link.name for link in EXTRA_LINKS}) == len(EXTRA_LINKS)
    assert get_provider_info()["extra-links"] == [
        f"{link.__module__}.{link.__qualname__}" for link in EXTRA_LINKS
    ]
    assert [type(link) for link in ValidateDataOperator.operator_extra_links] == [DataDocsLink]
    assert [type(link) for link in DriftMonitorOperator.operator_extra_links] == [DriftReportLink]
