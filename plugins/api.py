"""The FastAPI app mounted at ``/mlops``: the MLOps page, the JSON API behind it and the
reports (:mod:`airflow_mlops.plugins.reports`).

Airflow mounts plugin apps without authentication, so every route depends on
``requires_access_dag("GET")``: the caller's JWT (``Authorization: Bearer`` or the UI's
``_token`` cookie) must belong to a user whom the auth manager lets read DAGs.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from pathlib import Path
from typing import Any

from airflow.api_fastapi.core_api.security import requires_access_dag
from fastapi import Depends, FastAPI, HTTPException, Query, Request
from fastapi.responses import FileResponse, HTMLResponse

from airflow_mlops.dashboard import (
    VERSIONS_PAGE,
    LinkBuilder,
    ModelNotFoundError,
    TtlCache,
    check_name,
    check_page_size,
    list_models,
    model_view,
    versions_page,
)
from airflow_mlops.errors import ConfigError, RegistryError
from airflow_mlops.hooks.mlflow import MlflowHook
from airflow_mlops.mlflow_rest import check_http_uri
from airflow_mlops.plugins.reports import create_router as create_reports_router
from airflow_mlops.plugins.reports import report_path
from airflow_mlops.plugins.runs import ct_runs

STATIC = Path(__file__).with_name("static")
ASSETS = {"app.js": "text/javascript", "app.css": "text/css"}
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self'; "
    "img-src 'self' data:; connect-src 'self'; frame-ancestors 'self'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


def _airflow_url() -> str:
    from airflow.configuration import conf

    return conf.get("api", "base_url", fallback="") or ""


def _versions_per_page() -> int:
    from airflow.configuration import conf

    return conf.getint("mlops", "ui_versions_per_page", fallback=VERSIONS_PAGE)


def _link_hosts() -> tuple[str, ...]:
    from airflow.configuration import conf

    hosts = conf.get("mlops", "ui_link_hosts", fallback="") or ""
    return tuple(host.strip() for host in hosts.split(",") if host.strip())


def create_app(
    *,
    resolve_tracking_uri: Callable[[], str] | None = None,
    cache_ttl_s: float = 10.0,
    airflow_url: Callable[[], str] = _airflow_url,
    versions_per_page: Callable[[], int] = _versions_per_page,
    link_hosts: Callable[[], tuple[str, ...]] = _link_hosts,
) -> FastAPI:
    """Build the app.

    :param resolve_tracking_uri: returns the MLflow tracking URL (default:
        :meth:`MlflowHook.get_tracking_uri`, the ``mlflow_default`` connection, else
        ``MLFLOW_TRACKING_URI``).
    :param cache_ttl_s: seconds an API answer is reused before MLflow is asked again.
    :param airflow_url: returns the Airflow UI base URL for DAG-run links (``""``: same origin).
    :param versions_per_page: returns how many versions one answer holds (default: Airflow
        config ``[mlops] ui_versions_per_page``, else 100); the page reads older ones in pages.
    :param link_hosts: returns the http(s) origins, besides MLflow's UI and the report routes,
        that links from MLflow tags may point at (default: Airflow config ``[mlops]
        ui_link_hosts``, comma-separated, e.g. the artifact store's console); others are text.
    """
    app = FastAPI(
        title="airflow-mlops",
        dependencies=[Depends(requires_access_dag("GET"))],
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    cache = TtlCache(cache_ttl_s)
    tracking_uri = resolve_tracking_uri or MlflowHook().get_tracking_uri

    @app.middleware("http")
    async def security_headers(request: Request, call_next: Callable[..., Any]) -> Any:
        response = await call_next(request)
        for header, value in SECURITY_HEADERS.items():  # a report route sets its own CSP
            response.headers.setdefault(header, value)
        return response

    def registry(
        key: str, build: Callable[[str, LinkBuilder, int], dict[str, Any]]
    ) -> dict[str, Any]:
        try:
            uri = check_http_uri(tracking_uri())
            page_size = check_page_size(versions_per_page())
        except ConfigError as error:
            raise HTTPException(503, str(error)) from error
        links = LinkBuilder(
            mlflow_ui_url=uri,
            airflow_url=airflow_url(),
            link_hosts=link_hosts(),
            report_path=report_path,
        )
        try:
            return cache.get_or_compute((uri, page_size, key), lambda: build(uri, links, page_size))
        except ModelNotFoundError as error:
            raise HTTPException(404, str(error)) from error
        except ConfigError as error:
            raise HTTPException(400, str(error)) from error
        except RegistryError as error:
            raise HTTPException(502, str(error)) from error

    @app.get("/", response_class=HTMLResponse)
    def page(request: Request) -> HTMLResponse:
        """The MLOps page; its script reads the API under the same root."""
        root = html.escape(request.scope.get("root_path", "").rstrip("/"), quote=True)
        text = (STATIC / "index.html").read_text(encoding="utf-8").replace("__ROOT__", root)
        return HTMLResponse(text)

    @app.get("/static/{asset}")
    def static(asset: str) -> FileResponse:
        if asset not in ASSETS:
            raise HTTPException(404, f"No asset {asset!r}.")
        return FileResponse(STATIC / asset, media_type=ASSETS[asset])

    @app.get("/api/models")
    def models() -> dict[str, Any]:
        """Registered models with their aliases."""
        return registry("models", lambda uri, links, _: list_models(uri, links))

    @app.get("/api/models/{name:path}")
    def model(name: str) -> dict[str, Any]:
        """Champion, challenger, the newest versions with lineage and gate, drift history."""
        return registry(
            f"model:{name}", lambda uri, links, size: model_view(uri, name, links, size)
        )

    @app.get("/api/versions/{name:path}")
    def older_versions(name: str, before: int = Query(ge=1)) -> dict[str, Any]:
        """The page of versions older than ``before`` (a model view's or a page's ``older``)."""
        return registry(
            f"versions:{name}:{before}",
            lambda uri, links, size: versions_page(uri, name, links, before, size),
        )

    @app.get("/api/runs/{name:path}")
    def runs(name: str) -> dict[str, Any]:
        """The timeline: the newest runs of the model's CT DAGs, each with what came of it."""
        try:
            check_name(name)
        except ConfigError as error:
            raise HTTPException(400, str(error)) from error
        links = LinkBuilder(mlflow_ui_url=None, airflow_url=airflow_url())
        return cache.get_or_compute(("runs", name), lambda: ct_runs(name, links))

    app.include_router(create_reports_router())
    return app
