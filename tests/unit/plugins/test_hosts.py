"""The api-server's Host check: only ``[mlops] allowed_hosts``, none configured = no check."""

from __future__ import annotations

import pytest
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from airflow_mlops.plugins.hosts import AllowedHostsMiddleware, allowed_hosts
from airflow_mlops.plugins.plugin import MlopsPlugin


def _app() -> Starlette:
    app = Starlette(routes=[Route("/", lambda request: PlainTextResponse("ok"))])
    app.add_middleware(AllowedHostsMiddleware)
    return app


def test_a_foreign_host_is_refused_when_hosts_are_configured(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AIRFLOW__MLOPS__ALLOWED_HOSTS", "127.0.0.1, localhost")
    assert allowed_hosts() == ["127.0.0.1", "localhost"]
    client = TestClient(_app())
    assert client.get("/", headers={"Host": "localhost:8080"}).text == "ok"
    assert client.get("/", headers={"Host": "127.0.0.1:8080"}).status_code == 200
    refused = client.get("/", headers={"Host": "attacker.example:8080"})
    assert (refused.status_code, refused.text) == (400, "Invalid host header")


def test_no_hosts_configured_checks_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AIRFLOW__MLOPS__ALLOWED_HOSTS", raising=False)
    client = TestClient(_app())
    assert client.get("/", headers={"Host": "anything.example"}).status_code == 200


def test_the_plugin_adds_the_check_to_airflows_root_app() -> None:
    middlewares = MlopsPlugin.fastapi_root_middlewares
    assert [m["middleware"] for m in middlewares] == [AllowedHostsMiddleware]
