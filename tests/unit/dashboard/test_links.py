"""Links on the MLOps page: only absolute http(s) URLs, every path segment quoted."""

from __future__ import annotations

import pytest

from airflow_mlops.dashboard.links import LinkBuilder, safe_href


@pytest.mark.parametrize(
    ("uri", "expected"),
    [
        ("https://docs.example/a.html", "https://docs.example/a.html"),
        ("http://h:5000/x", "http://h:5000/x"),
        ("javascript:alert(1)", None),
        ("JaVaScRiPt:alert(1)", None),
        ("data:text/html,<script>", None),
        ("s3://bucket/report.html", None),
        ("file:///tmp/report.html", None),
        ("//evil.example/x", None),
        ("http:///no-host", None),
        ("", None),
        (None, None),
    ],
)
def test_safe_href_allows_only_absolute_http_urls(uri: str | None, expected: str | None) -> None:
    assert safe_href(uri) == expected


def test_links_quote_every_segment() -> None:
    links = LinkBuilder(mlflow_ui_url="http://mlflow:5000/", airflow_url="")
    assert links.run("3", "abc") == "http://mlflow:5000/#/experiments/3/runs/abc"
    assert links.run(None, "abc") == "http://mlflow:5000/#/runs/abc"
    assert links.model_version("a b/c", "7") == "http://mlflow:5000/#/models/a%20b%2Fc/versions/7"
    assert links.dag_run("ct", "manual__2026-01-01T00:00:00+00:00") == (
        "/dags/ct/runs/manual__2026-01-01T00%3A00%3A00%2B00%3A00"
    )
    assert links.dag_run("ct", None) is None


def test_links_are_omitted_for_unsafe_bases() -> None:
    links = LinkBuilder(mlflow_ui_url="sqlite:///mlflow.db", airflow_url="javascript:x")
    assert links.run("1", "abc") is None
    assert links.model("m") is None
    assert links.dag_run("ct", "r") is None
    assert LinkBuilder(None, "https://af.example/base/").dag_run("d", "r") == (
        "https://af.example/base/dags/d/runs/r"
    )


@pytest.mark.parametrize(
    ("uri", "linked"),
    [
        ("/mlops/reports/validation/ct/run/validate/index.html", True),
        ("https://af.example/base/mlops/reports/onnx/ct/r/export/parity.html", True),
        ("http://mlflow:5000/#/experiments/1/runs/abc", True),
        ("https://console.example/s3/buckets/artifacts", True),
        ("https://evil.example/mlops/reports/x", False),
        ("https://evil.example/phish", False),
        ("//evil.example/mlops/reports/x", False),
        ("https://af.example/base/admin", False),
        ("/mlops/other/route", False),
        ("/mlops/reports/../api/models", False),
        ("javascript:alert(1)", False),
        ("file:///tmp/report.html", False),
        ("http://mlflow:5001/x", False),
        (None, False),
    ],
)
def test_links_from_tags_reach_only_report_routes_mlflow_and_configured_hosts(
    uri: str | None, linked: bool
) -> None:
    links = LinkBuilder(
        mlflow_ui_url="http://mlflow:5000",
        airflow_url="https://af.example/base",
        link_hosts=("https://console.example",),
    )
    same_origin = LinkBuilder(mlflow_ui_url="http://mlflow:5000", airflow_url="")
    relative = uri is not None and uri.startswith("/mlops/")
    builder = same_origin if relative else links
    assert builder.tag_link(uri) == (uri if linked else None)
