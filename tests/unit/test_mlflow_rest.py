"""The REST reader against a real local HTTP server: auth headers, paging, errors."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from airflow_mlops.errors import ConfigError, RegistryError
from airflow_mlops.local.services import free_port
from airflow_mlops.mlflow_rest import MlflowRest, check_http_uri

#: what the server saw: (method, path with query, Authorization header, JSON body)
Seen = list[tuple[str, str, str | None, dict | None]]


class _Handler(BaseHTTPRequestHandler):
    seen: Seen

    def _answer(self, body: dict | None) -> None:
        self.seen.append((self.command, self.path, self.headers.get("Authorization"), body))
        if "refuse" in self.path:
            status, answer = 400, {"error_code": "INVALID_PARAMETER_VALUE", "message": "bad filter"}
        elif "garbage" in self.path:
            status, answer = 200, None
        elif body and body.get("page_token") == "2":
            status, answer = 200, {"items": [3]}
        else:
            status, answer = 200, {"items": [1, 2], "next_page_token": "2"}
        self.send_response(status)
        self.end_headers()
        self.wfile.write(b"<html>" if answer is None else json.dumps(answer).encode())

    def do_GET(self) -> None:
        self._answer(None)

    def do_POST(self) -> None:
        length = int(self.headers["Content-Length"])
        self._answer(json.loads(self.rfile.read(length)))

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, Seen]]:
    for name in ("USERNAME", "PASSWORD", "TOKEN"):  # what the hook sets is undone afterwards
        monkeypatch.setenv(f"MLFLOW_TRACKING_{name}", "")
        monkeypatch.delenv(f"MLFLOW_TRACKING_{name}")
    seen: Seen = []
    handler = type("Handler", (_Handler,), {"seen": seen})
    httpd = ThreadingHTTPServer(("127.0.0.1", free_port()), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_port}/", seen
    httpd.shutdown()
    httpd.server_close()


def test_get_quotes_the_query_and_sends_basic_auth_from_the_environment(
    server: tuple[str, Seen], monkeypatch: pytest.MonkeyPatch
) -> None:
    url, seen = server
    monkeypatch.setenv("MLFLOW_TRACKING_USERNAME", "ada")
    monkeypatch.setenv("MLFLOW_TRACKING_PASSWORD", "s3cret")
    monkeypatch.setenv("MLFLOW_TRACKING_TOKEN", "ignored-when-basic-is-set")
    MlflowRest(url).get("model-versions/search", filter="name = 'a b'", order_by="x DESC")
    ((method, path, auth, _),) = seen
    assert method == "GET"
    assert path == (
        "/api/2.0/mlflow/model-versions/search?filter=name+%3D+%27a+b%27&order_by=x+DESC"
    )
    assert auth == "Basic YWRhOnMzY3JldA=="


def test_post_pages_follow_the_token_with_a_bearer_token(
    server: tuple[str, Seen], monkeypatch: pytest.MonkeyPatch
) -> None:
    url, seen = server
    monkeypatch.setenv("MLFLOW_TRACKING_TOKEN", "tok")
    items = MlflowRest(url).pages("runs/search", "items", {"max_results": 2}, post=True)
    assert items == [1, 2, 3]
    assert [body for _, _, _, body in seen] == [
        {"max_results": 2},
        {"max_results": 2, "page_token": "2"},
    ]
    assert {auth for _, _, auth, _ in seen} == {"Bearer tok"}


def test_no_credentials_no_authorization_header(server: tuple[str, Seen]) -> None:
    url, seen = server
    MlflowRest(url).post("experiments/search", {})
    assert seen[0][2] is None


def test_refusals_carry_mlflows_error_code_and_message(server: tuple[str, Seen]) -> None:
    url, _ = server
    with pytest.raises(RegistryError, match=r"refused refuse .HTTP 400.: bad filter") as refused:
        MlflowRest(url).get("refuse")
    assert refused.value.details == {"error_code": "INVALID_PARAMETER_VALUE", "status": 400}


def test_garbage_and_unreachable_servers_are_registry_errors(server: tuple[str, Seen]) -> None:
    url, _ = server
    with pytest.raises(RegistryError, match="garbage"):
        MlflowRest(url).get("garbage")
    with pytest.raises(RegistryError, match="unreachable") as unreachable:
        MlflowRest(f"http://127.0.0.1:{free_port()}", timeout_s=5).get("x")
    assert "Start the tracking server" in unreachable.value.hint


@pytest.mark.parametrize(
    "uri", ["sqlite:///mlflow.db", "file:///tmp/mlruns", "databricks", "http://", "/tmp/mlruns"]
)
def test_only_http_tracking_urls_are_accepted(uri: str) -> None:
    with pytest.raises(ConfigError, match="not the http"):
        check_http_uri(uri)
    assert check_http_uri(" https://mlflow.example/base/ ") == "https://mlflow.example/base"


@pytest.mark.parametrize(
    ("login", "expected"),
    [("ada", "Basic YWRhOnMzY3JldA=="), (None, "Bearer s3cret")],
)
def test_mlflow_connection_credentials_reach_the_server(
    server: tuple[str, Seen], monkeypatch: pytest.MonkeyPatch, login: str | None, expected: str
) -> None:
    """A connection's login and password are basic auth; a password alone is a bearer token."""
    from airflow_mlops.hooks.mlflow import MlflowHook

    url, seen = server
    for name in ("USERNAME", "PASSWORD", "TOKEN"):  # what the hook sets is undone afterwards
        monkeypatch.setenv(f"MLFLOW_TRACKING_{name}", "")
        monkeypatch.delenv(f"MLFLOW_TRACKING_{name}")
    connection = {"conn_type": "mlflow", "host": url, "login": login, "password": "s3cret"}
    monkeypatch.setenv("AIRFLOW_CONN_AUTH_MLFLOW", json.dumps(connection))

    MlflowRest(MlflowHook("auth_mlflow").get_tracking_uri()).get("experiments/search")

    assert seen[0][2] == expected


def test_artifact_reads_raw_bytes_and_a_refusal_is_not_found(server: tuple[str, Seen]) -> None:
    url, seen = server
    rest = MlflowRest(url)
    assert rest.artifact("abc", "evaluation/v1/report.md").startswith(b'{"items"')
    assert seen[-1][1] == "/get-artifact?run_uuid=abc&path=evaluation%2Fv1%2Freport.md"
    with pytest.raises(FileNotFoundError):
        rest.artifact("abc", "refuse.md")
