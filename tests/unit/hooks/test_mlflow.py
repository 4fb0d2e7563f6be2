"""The hook finds MLflow through the Airflow connection, then the environment."""

from __future__ import annotations

import json

import pytest

from airflow_mlops.errors import ConfigError
from airflow_mlops.hooks.mlflow import MlflowHook


def tracking_uri(conn_id: str) -> str:
    return MlflowHook(conn_id).get_tracking_uri()


def _conn(monkeypatch: pytest.MonkeyPatch, conn_id: str, **fields: object) -> None:
    monkeypatch.setenv(
        f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps({"conn_type": "mlflow", **fields})
    )


def test_connection_host_is_the_tracking_url(monkeypatch: pytest.MonkeyPatch) -> None:
    _conn(monkeypatch, "ml_a", host="https://mlflow.example/")
    assert tracking_uri("ml_a") == "https://mlflow.example"


def test_bare_host_and_port_become_an_http_url(monkeypatch: pytest.MonkeyPatch) -> None:
    _conn(monkeypatch, "ml_b", host="mlflow", port=5000)
    assert tracking_uri("ml_b") == "http://mlflow:5000"


def test_environment_is_the_fallback(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://127.0.0.1:5555")
    assert tracking_uri("ml_missing") == "http://127.0.0.1:5555"


def test_missing_everywhere_says_what_to_configure(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    with pytest.raises(ConfigError, match="ml_missing") as error:
        tracking_uri("ml_missing")
    assert "MLFLOW_TRACKING_URI" in str(error.value)
