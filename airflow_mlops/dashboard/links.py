"""Link safety for the MLOps page: only ``http(s)`` URLs, or paths whose segments are quoted here.

The page never receives a ``javascript:`` (or ``data:``, ``file:``...) href: a URI that is not an
absolute http(s) URL is shown as text. A link read from an MLflow tag (anyone who may write tags
writes it) is narrower still (:meth:`LinkBuilder.tag_link`): the plugin's report routes, MLflow's
UI and the configured hosts only.
"""

from __future__ import annotations

import re
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass


def safe_href(uri: str | None) -> str | None:
    """``uri`` if it is an absolute http(s) URL, else None (shown as text, never as a link)."""
    if not uri:
        return None
    parsed = urllib.parse.urlsplit(uri.strip())
    if parsed.scheme in ("http", "https") and parsed.netloc:
        return uri.strip()
    return None


#: the plugin's report routes (``plugins/reports.py`` serves them under the app's ``/mlops``)
REPORT_ROUTES = "/mlops/reports/"


def origin(url: str | None) -> tuple[str, str] | None:
    """``(scheme, host[:port])`` of an absolute http(s) URL, lower case; else None."""
    href = safe_href(url)
    if href is None:
        return None
    parsed = urllib.parse.urlsplit(href)
    return parsed.scheme.lower(), parsed.netloc.lower()


#: the report routes' family of MLflow run artifacts (``mlflow/<run_id>/<path>``)
MLFLOW_REPORTS = "mlflow"
#: an MLflow artifact URI: ``<scheme>:/.../<run_id>/artifacts/<path>``
_RUN_ARTIFACT = re.compile(r"^[a-z][a-z0-9+.-]*:/.*?/([0-9a-f]{32})/artifacts/(.+)$")


def run_artifact(uri: str | None) -> tuple[str, str] | None:
    """``(run_id, path)`` of an MLflow run artifact URI (``mlflow-artifacts:/1/<run>/artifacts/
    evaluation/v3/report.md``, ``s3://...``), else None."""
    found = _RUN_ARTIFACT.match((uri or "").strip())
    if found is None or ".." in found.group(2).split("/"):
        return None
    return found.group(1), found.group(2)


def _quote(segment: str) -> str:
    return urllib.parse.quote(str(segment), safe="")


@dataclass(frozen=True)
class LinkBuilder:
    """Builds links to the MLflow UI and to DAG runs in the Airflow UI.

    :param mlflow_ui_url: base URL of the MLflow UI (http/https), or None for no MLflow links.
    :param airflow_url: base URL (or path prefix, ``""`` for the same origin) of the Airflow UI.
    :param link_hosts: further http(s) origins whose links tags may carry (e.g. the artifact
        store's console, ``https://console.example``).
    :param report_path: the path under :data:`REPORT_ROUTES` that serves a file of the
        artifact root (the plugin passes ``plugins.reports.report_path``), or None.
    """

    mlflow_ui_url: str | None
    airflow_url: str = ""
    link_hosts: tuple[str, ...] = ()
    report_path: Callable[[str], str | None] | None = None

    def report(self, uri: str | None) -> str | None:
        """The link to a report whose URI a tag holds: its route under :data:`REPORT_ROUTES`
        (an MLflow run artifact, or a file of the artifact root), else :meth:`tag_link`."""
        artifact = run_artifact(uri)
        relative = (
            f"{MLFLOW_REPORTS}/{artifact[0]}/{artifact[1]}"
            if artifact
            else (self.report_path(uri) if uri and self.report_path else None)
        )
        if relative is None:
            return self.tag_link(uri)
        base = self.airflow_url.rstrip("/")
        if base and not safe_href(base) and not base.startswith("/"):
            return None
        return base + REPORT_ROUTES + "/".join(_quote(part) for part in relative.split("/"))

    def tag_link(self, uri: str | None) -> str | None:
        """``uri``, read from an MLflow tag, if the page may link it, else None (shown as text).

        Allowed: a path under the plugin's :data:`REPORT_ROUTES` (on this page's origin or the
        Airflow base URL), and http(s) URLs on MLflow's UI origin or one of ``link_hosts``.
        Anything else (``https://evil.example/...``, ``//host/...``, ``javascript:``) is dropped.
        """
        if not uri:
            return None
        uri = uri.strip()
        parsed = urllib.parse.urlsplit(uri)
        if ".." in parsed.path.split("/") or "\\" in uri:
            return None
        base = self.airflow_url.rstrip("/")
        base_path = urllib.parse.urlsplit(base).path if safe_href(base) else base
        if not parsed.scheme and not parsed.netloc:
            return uri if parsed.path.startswith(f"{base_path}{REPORT_ROUTES}") else None
        found = origin(uri)
        if found is None:
            return None
        if found == origin(base) and parsed.path.startswith(f"{base_path}{REPORT_ROUTES}"):
            return uri
        allowed = {origin(host) for host in (self.mlflow_ui_url, *self.link_hosts)}
        return uri if found in allowed - {None} else None

    def _mlflow(self, fragment: str) -> str | None:
        base = safe_href(self.mlflow_ui_url)
        return f"{base.rstrip('/')}/#/{fragment}" if base else None

    def run(self, experiment_id: str | None, run_id: str | None) -> str | None:
        if not run_id:
            return None
        if experiment_id:
            return self._mlflow(f"experiments/{_quote(experiment_id)}/runs/{_quote(run_id)}")
        return self._mlflow(f"runs/{_quote(run_id)}")

    def model(self, name: str) -> str | None:
        return self._mlflow(f"models/{_quote(name)}")

    def model_version(self, name: str, version: str) -> str | None:
        return self._mlflow(f"models/{_quote(name)}/versions/{_quote(version)}")

    def dag_run(self, dag_id: str | None, run_id: str | None) -> str | None:
        if not dag_id or not run_id:
            return None
        base = self.airflow_url.rstrip("/")
        if base and not safe_href(base) and not base.startswith("/"):
            return None
        return f"{base}/dags/{_quote(dag_id)}/runs/{_quote(run_id)}"

    def task(self, dag_id: str | None, run_id: str | None, task_id: str | None) -> str | None:
        """The task's view in a DAG run (its logs, details and extra links)."""
        run = self.dag_run(dag_id, run_id)
        return f"{run}/tasks/{_quote(task_id)}" if run and task_id else None
