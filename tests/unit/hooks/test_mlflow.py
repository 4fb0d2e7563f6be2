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


@pytest.fixture
def tracking_server():
    """A stand-in tracking server answering ``experiments/search``; records the auth headers."""
    import http.server
    import threading

    seen: list[str | None] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            seen.append(self.headers.get("Authorization"))
            ok = self.path.startswith("/api/2.0/mlflow/experiments/search?")
            body = json.dumps({"experiments": []} if ok else {"message": "no"}).encode()
            self.send_response(200 if ok else 404)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}", seen
    server.shutdown()
    server.server_close()


def test_connection_test_asks_the_server_with_the_token_and_restores_the_environment(
    monkeypatch: pytest.MonkeyPatch, tracking_server
) -> None:
    url, seen = tracking_server
    for name in ("MLFLOW_TRACKING_USERNAME", "MLFLOW_TRACKING_PASSWORD", "MLFLOW_TRACKING_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    _conn(monkeypatch, "ml_test", host=url, password="s3cret")

    ok, message = MlflowHook("ml_test").test_connection()

    assert ok, message
    assert url in message
    assert seen == ["Bearer s3cret"]
    import os

    assert "MLFLOW_TRACKING_TOKEN" not in os.environ  # the api-server keeps no test credentials


def test_connection_test_reports_an_unreachable_server(monkeypatch: pytest.MonkeyPatch) -> None:
    import socket

    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]
    _conn(monkeypatch, "ml_down", host=f"http://127.0.0.1:{port}")

    ok, message = MlflowHook("ml_down").test_connection()

    assert not ok
    assert "unreachable" in message and str(port) in message


def test_connection_test_without_any_url_says_what_to_configure(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    ok, message = MlflowHook("ml_nowhere").test_connection()
    assert not ok and "ml_nowhere" in message
