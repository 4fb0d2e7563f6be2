"""The page's data core without services: safe links, name checks, the TTL cache."""

from __future__ import annotations

import subprocess
import sys

import pytest

from airflow_mlops.dashboard import (
    LinkBuilder,
    TtlCache,
    check_page_size,
    model_view,
    safe_href,
    versions_page,
)
from airflow_mlops.errors import ConfigError


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


def test_ttl_cache_reuses_then_expires() -> None:
    calls = []
    cache = TtlCache(ttl_s=60)
    assert cache.get_or_compute("k", lambda: calls.append(1) or "a") == "a"
    assert cache.get_or_compute("k", lambda: calls.append(1) or "b") == "a"
    assert len(calls) == 1
    cache.clear()
    assert cache.get_or_compute("k", lambda: "c") == "c"
    assert TtlCache(ttl_s=0).get_or_compute("k", lambda: "fresh") == "fresh"


def test_ttl_cache_drops_the_oldest_entry_beyond_its_size() -> None:
    cache = TtlCache(ttl_s=60, max_entries=2)
    for key in "abc":
        cache.get_or_compute(key, lambda key=key: key)
    assert cache.get_or_compute("a", lambda: "recomputed") == "recomputed"
    assert cache.get_or_compute("c", lambda: "recomputed") == "c"


def test_the_page_data_core_never_imports_mlflow() -> None:
    """``import mlflow`` takes seconds: the api-server's first request must not pay it."""
    code = (
        "import sys, airflow_mlops.dashboard, airflow_mlops.mlflow_rest; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('mlflow', 'pandas')))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
