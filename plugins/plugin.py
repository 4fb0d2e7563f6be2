"""The airflow-mlops Airflow plugin, registered through the ``airflow.plugins`` entry point."""

from __future__ import annotations

from typing import Any

from airflow.plugins_manager import AirflowPlugin

from airflow_mlops.plugins import macros
from airflow_mlops.plugins.hosts import AllowedHostsMiddleware
from airflow_mlops.plugins.links import EXTRA_LINKS
from airflow_mlops.plugins.priority import TriggerPriority

URL_PREFIX = "/mlops"


class LazyApp:
    """An ASGI app that builds the FastAPI app on its first request.

    Every Airflow process loads plugins (workers too, for the macros); only the api-server
    serves requests, so only it pays for importing the API and Airflow's security module.
    """

    def __init__(self) -> None:
        self._app: Any = None

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if self._app is None:
            from airflow_mlops.plugins.api import create_app

            self._app = create_app()
        await self._app(scope, receive, send)


class MlopsPlugin(AirflowPlugin):
    """Adds the MLOps page, the operators' extra links, the ``mlops`` macros and the training
    tasks' priority weight strategy to Airflow."""

    name = "airflow_mlops"
    fastapi_apps = [{"app": LazyApp(), "url_prefix": URL_PREFIX, "name": "MLOps API"}]
    # the api-server refuses Host headers outside [mlops] allowed_hosts (none configured: all)
    fastapi_root_middlewares = [
        {"middleware": AllowedHostsMiddleware, "name": "airflow-mlops allowed hosts"}
    ]
    # No ``url_route``: Airflow would embed the page in an iframe sandboxed without
    # allow-popups / allow-top-navigation, where links to MLflow and to DAG runs cannot open.
    # In the Browse menu the entry is a real link that opens the page in its own tab (3.3.2
    # renders a top-level entry without url_route as a <button href> that does nothing).
    external_views = [
        {"name": "MLOps", "href": f"{URL_PREFIX}/", "destination": "nav", "category": "browse"}
    ]
    macros = [
        macros.champion_version,
        macros.challenger_version,
        macros.alias_version,
        macros.champion_uri,
    ]
    operator_extra_links = [link() for link in EXTRA_LINKS]
    # training tasks' weight_rule: automatic runs train before manual ones
    priority_weight_strategies = [TriggerPriority]
