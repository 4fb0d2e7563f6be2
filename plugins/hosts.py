"""Refuse requests whose Host header is not one of ``[mlops] allowed_hosts`` (DNS rebinding).

A root middleware of Airflow's api-server (the plugin's ``fastapi_root_middlewares``), so it
guards Airflow's UI, its REST and execution APIs and the MLOps page alike, as MLflow's
``--allowed-hosts`` guards MLflow. Empty (the default) checks nothing: a deployment behind a
proxy usually checks there. The local stack sets ``127.0.0.1,localhost``.
"""

from __future__ import annotations

from typing import Any


def allowed_hosts() -> list[str]:
    """The Airflow config ``[mlops] allowed_hosts``, comma-separated host names (``*.example``
    matches subdomains); empty for no check."""
    from airflow.configuration import conf

    hosts = conf.get("mlops", "allowed_hosts", fallback="") or ""
    return [host.strip() for host in hosts.split(",") if host.strip()]


class AllowedHostsMiddleware:
    """Starlette's ``TrustedHostMiddleware`` over :func:`allowed_hosts` (a 400 ``Invalid host
    header`` for any other Host); a pass-through when none are configured.

    :param app: the ASGI app it guards.
    :param hosts: the allowed host names; None reads :func:`allowed_hosts`.
    """

    def __init__(self, app: Any, hosts: list[str] | None = None) -> None:
        from starlette.middleware.trustedhost import TrustedHostMiddleware

        hosts = allowed_hosts() if hosts is None else hosts
        self.app = TrustedHostMiddleware(app, allowed_hosts=hosts) if hosts else app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await self.app(scope, receive, send)
