"""The reports over HTTP, under ``/mlops/reports/``: data docs, ONNX parity reports, drift
reports and training outputs from the artifact root, and evaluation reports from MLflow.

``/mlops/reports/<family>/<dag_id>/<path>`` serves ``<artifact root>/<family>/<dag_id>/<path>``
(the task folders of :func:`~airflow_mlops.artifacts.task_artifact_dir`); the root is
``$AIRFLOW_MLOPS_ARTIFACT_ROOT`` (``file://``, a local path or any ObjectStoragePath URI such as
``s3://``), else ``<home>/artifacts``. A path with ``..``, an absolute path or a symlink that
leads out of the root is refused; a missing file is a 404; a folder shows its ``index.html``, else
a listing. ``/mlops/reports/inference_log/<model>/<path>`` shows a Parquet file of the inference
log as a summary (rows, columns, ranges). ``/mlops/reports/mlflow/<run_id>/<path>`` serves an
artifact of an MLflow run (the evaluation report, rendered with its plots) through MLflow's REST
API.

The routes belong to the plugin's app, so they inherit its check of the caller's Airflow JWT;
a report's ``dag_id`` segment is a path parameter, so the auth manager is asked about that DAG.
HTML reports (Great Expectations, Evidently) run in a CSP sandbox: their scripts get an opaque
origin and never see the caller's token.

(No ``from __future__ import annotations``: FastAPI reads the routes' annotations, and fastapi is
imported only when the router is built, so that operators importing the links stay light.)
"""

import html
import mimetypes
import os
import re
import urllib.parse
from collections.abc import Callable
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from airflow_mlops.settings import ARTIFACT_ROOT_ENV, MlopsHome

if TYPE_CHECKING:
    from fastapi import APIRouter

#: the route prefix inside the plugin's app (mounted at ``/mlops``)
REPORTS_PATH = "/reports"
#: the artifact families (first folder under the root) that the routes serve
FAMILIES = ("validation", "onnx", "drift", "training")
#: the family segment of MLflow run artifacts
MLFLOW_FAMILY = "mlflow"
#: the inference log's folder under the artifact root (``<model>/date=<day>/<file>.parquet``)
INFERENCE_LOG = "inference_log"
#: what a report page may do: run its own inline scripts in an opaque origin, nothing else
SANDBOXED = (
    "sandbox allow-scripts allow-popups allow-popups-to-escape-sandbox; default-src 'none'; "
    "script-src 'unsafe-inline' 'unsafe-eval'; style-src 'unsafe-inline'; img-src data: blob:; "
    "font-src data:; frame-ancestors 'self'"
)
#: pages this module writes itself (listings, rendered Markdown): no script, images from here
OWN_PAGE = "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; frame-ancestors 'self'"
_MARKDOWN_IMAGE = re.compile(r"!\[([^\]]*)\]\(([A-Za-z0-9._-]+)\)")


class ReportRefused(ValueError):
    """A report path that names something outside the artifact root."""


def artifact_root() -> str:
    """The artifact root as the tasks see it: ``$AIRFLOW_MLOPS_ARTIFACT_ROOT``, else
    ``<home>/artifacts``."""
    return os.environ.get(ARTIFACT_ROOT_ENV) or str(MlopsHome.from_env().artifacts)


def _is_local(root: str) -> bool:
    scheme = urllib.parse.urlsplit(root).scheme
    return scheme in ("", "file") or len(scheme) == 1  # a Windows drive letter is no scheme


def _local_path(uri: str) -> Path:
    if uri.startswith("file://"):
        return Path(urllib.parse.unquote(urllib.parse.urlsplit(uri).path))
    return Path(uri)


def check_relative(path: str) -> PurePosixPath:
    """``path`` as a relative POSIX path; :class:`ReportRefused` for an absolute path, ``..``,
    ``.``, empty segments, backslashes or NUL."""
    parts = path.split("/")
    if not path or path.startswith("/") or "\\" in path or "\x00" in path:
        raise ReportRefused(f"Report path {path!r} is not a relative path.")
    if any(part in ("", ".", "..") for part in parts):
        raise ReportRefused(f"Report path {path!r} has an empty, '.' or '..' segment.")
    return PurePosixPath(*parts)


def report_path(uri: str | None, root: str | None = None) -> str | None:
    """The path under ``/mlops/reports/`` that serves ``uri`` (a local path, ``file://`` or
    object-storage URI of a file the tasks wrote), or None when ``uri`` is not inside a served
    family of the artifact root."""
    if not uri:
        return None
    root = root or artifact_root()
    if _is_local(root) != _is_local(uri):
        return None
    if _is_local(root):
        base, target = _local_path(root).resolve(), _local_path(uri).resolve()
        if not target.is_relative_to(base):
            return None
        relative = target.relative_to(base).as_posix()
    else:
        prefix = root.rstrip("/") + "/"
        if not uri.startswith(prefix):
            return None
        relative = uri[len(prefix) :]
    try:
        parts = check_relative(relative).parts
    except ReportRefused:
        return None
    served = parts[0] in FAMILIES or parts[0] == INFERENCE_LOG
    return relative if len(parts) >= 3 and served else None


def report_url(base_url: str, relative: str) -> str:
    """``<base_url>/mlops/reports/<relative>``, each segment quoted."""
    quoted = "/".join(urllib.parse.quote(part, safe="") for part in relative.split("/"))
    return f"{base_url.rstrip('/')}/mlops{REPORTS_PATH}/{quoted}"


def mlflow_artifact_path(run_id: str, path: str) -> str:
    """The path under ``/mlops/reports/`` of artifact ``path`` of MLflow run ``run_id``."""
    return f"{MLFLOW_FAMILY}/{run_id}/{path}"


def resolve(root: str, relative: str) -> Any:
    """The file or folder ``relative`` names under ``root``: a :class:`~pathlib.Path` for a
    local root, else an ``ObjectStoragePath``.

    :raises ReportRefused: the path is not relative, or a symlink leads out of the root.
    :raises FileNotFoundError: nothing is there.
    """
    clean = check_relative(relative)
    if _is_local(root):
        base = _local_path(root).resolve()
        target = base.joinpath(*clean.parts)
        real = target.resolve()
        if not real.is_relative_to(base):
            raise ReportRefused(f"Report path {relative!r} leads out of the artifact root.")
        if not real.exists():
            raise FileNotFoundError(relative)
        return real
    from airflow.sdk import ObjectStoragePath

    target = ObjectStoragePath(root.rstrip("/") + "/" + clean.as_posix())
    if not target.exists():
        raise FileNotFoundError(relative)
    return target


def _listing(title: str, names: list[str]) -> str:
    items = "".join(
        f'<li><a href="{html.escape(urllib.parse.quote(name), quote=True)}">'
        f"{html.escape(name)}</a></li>"
        for name in names
    )
    return f"<!doctype html><title>{html.escape(title)}</title><h1>{html.escape(title)}</h1>" + (
        f"<ul>{items}</ul>"
    )


def render_markdown(title: str, text: str) -> str:
    """A Markdown report as an HTML page: the text as written, its images (``![alt](file)``
    beside it) shown below it."""
    images = "".join(
        f'<figure><img src="{html.escape(name, quote=True)}" alt="{html.escape(alt, quote=True)}">'
        f"<figcaption>{html.escape(alt)}</figcaption></figure>"
        for alt, name in _MARKDOWN_IMAGE.findall(text)
    )
    return (
        f"<!doctype html><meta charset='utf-8'><title>{html.escape(title)}</title>"
        "<style>pre{white-space:pre-wrap;font:14px monospace}</style>"
        f"<pre>{html.escape(text)}</pre>{images}"
    )


def inference_log_summary(title: str, handle: Any) -> str:
    """An HTML summary of one inference log Parquet file: rows, size, columns, and the range
    of the prediction, model version and scoring time columns (from the row group statistics;
    no row is read)."""
    import pyarrow.parquet as pq

    from airflow_mlops.monitoring.scoring import LOG_COLUMNS

    meta = pq.ParquetFile(handle).metadata
    names = [meta.schema.column(i).name for i in range(meta.num_columns)]
    ranges = []
    for column in (c for c in LOG_COLUMNS if c in names):
        index = names.index(column)
        stats = [meta.row_group(g).column(index).statistics for g in range(meta.num_row_groups)]
        known = [s for s in stats if s is not None and s.has_min_max]
        if known:
            low, high = min(s.min for s in known), max(s.max for s in known)
            ranges.append(
                f"<tr><th>{html.escape(column)}</th><td>{html.escape(str(low))}</td>"
                f"<td>{html.escape(str(high))}</td></tr>"
            )
    return (
        f"<!doctype html><meta charset='utf-8'><title>{html.escape(title)}</title>"
        f"<h1>Inference log {html.escape(title)}</h1>"
        f"<p>{meta.num_rows} rows in {meta.num_row_groups} row groups, {len(names)} columns: "
        f"{html.escape(', '.join(names))}</p>"
        f"<table><tr><th>column</th><th>min</th><th>max</th></tr>{''.join(ranges)}</table>"
    )


def _media_type(name: str) -> str:
    if name.endswith(".md"):
        return "text/plain; charset=utf-8"
    guessed = mimetypes.guess_type(name)[0] or "application/octet-stream"
    return f"{guessed}; charset=utf-8" if guessed.startswith("text/") else guessed


def create_router(
    *,
    root: Callable[[], str] = artifact_root,
    mlflow_artifact: Callable[[str, str], bytes] | None = None,
) -> "APIRouter":
    """The report routes.

    :param root: returns the artifact root (default :func:`artifact_root`).
    :param mlflow_artifact: returns the bytes of artifact ``path`` of run ``run_id`` (default:
        MLflow's REST API at :meth:`MlflowHook.get_tracking_uri`).
    """
    from fastapi import APIRouter, HTTPException, Request
    from fastapi.responses import HTMLResponse, RedirectResponse, Response

    from airflow_mlops.errors import ConfigError, RegistryError

    router = APIRouter(prefix=REPORTS_PATH)

    def send(name: str, body: bytes) -> Response:
        media = _media_type(name)
        if name.endswith(".md"):
            page = render_markdown(name, body.decode("utf-8", "replace"))
            return HTMLResponse(page, headers={"Content-Security-Policy": OWN_PAGE})
        csp = SANDBOXED if media.startswith(("text/html", "image/svg")) else OWN_PAGE
        return Response(body, media_type=media, headers={"Content-Security-Policy": csp})

    @router.get(f"/{MLFLOW_FAMILY}/{{run_id}}/{{path:path}}")
    def mlflow_report(run_id: str, path: str) -> Response:
        """An artifact of MLflow run ``run_id`` (a Markdown report is rendered with its plots)."""
        try:
            check_relative(path)
        except ReportRefused as error:
            raise HTTPException(400, str(error)) from error
        read = mlflow_artifact or _mlflow_artifact
        try:
            body = read(run_id, path)
        except FileNotFoundError as error:
            raise HTTPException(404, f"Run {run_id} has no artifact {path!r}.") from error
        except ConfigError as error:
            raise HTTPException(503, str(error)) from error
        except RegistryError as error:
            raise HTTPException(502, str(error)) from error
        return send(PurePosixPath(path).name, body)

    @router.get(f"/{INFERENCE_LOG}/{{model}}/{{path:path}}")
    def inference_log(model: str, path: str, request: Request) -> Response:
        """The inference log of ``model``: a Parquet file as a summary, a folder as a listing."""
        return serve(f"{INFERENCE_LOG}/{model}/{path}", request)

    @router.get("/{family}/{dag_id}/{path:path}")
    def artifact_report(family: str, dag_id: str, path: str, request: Request) -> Response:
        """A file under ``<artifact root>/<family>/<dag_id>/``; a folder shows its
        ``index.html``, else a listing."""
        if family not in FAMILIES:
            raise HTTPException(404, f"No reports of family {family!r}; served: {FAMILIES}.")
        return serve(f"{family}/{dag_id}/{path}", request)

    def serve(relative: str, request: Request) -> Response:
        relative = relative.rstrip("/")
        try:
            target = resolve(root(), relative)
        except ReportRefused as error:
            raise HTTPException(400, str(error)) from error
        except FileNotFoundError as error:
            raise HTTPException(404, f"No report at {relative!r}.") from error
        if target.is_dir():
            if not request.url.path.endswith("/"):  # relative links in it resolve inside it
                return RedirectResponse(f"{PurePosixPath(relative).name}/", status_code=307)
            if (target / "index.html").is_file():
                return send("index.html", (target / "index.html").read_bytes())
            names = sorted(f"{c.name}/" if c.is_dir() else c.name for c in target.iterdir())
            page = _listing(relative, names)
            return HTMLResponse(page, headers={"Content-Security-Policy": OWN_PAGE})
        if relative.startswith(f"{INFERENCE_LOG}/") and target.name.endswith(".parquet"):
            with target.open("rb") as handle:
                page = inference_log_summary(target.name, handle)
            return HTMLResponse(page, headers={"Content-Security-Policy": OWN_PAGE})
        return send(target.name, target.read_bytes())

    return router


def _mlflow_artifact(run_id: str, path: str) -> bytes:
    from airflow_mlops.hooks.mlflow import MlflowHook
    from airflow_mlops.mlflow_rest import MlflowRest

    return MlflowRest(MlflowHook().get_tracking_uri()).artifact(run_id, path)
