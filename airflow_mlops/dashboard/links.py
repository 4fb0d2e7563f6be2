"""Link safety for the MLOps page: only ``http(s)`` URLs, or paths whose segments are quoted here.

The page never receives a ``javascript:`` (or ``data:``, ``file:``...) href: a URI that is not an
absolute http(s) URL is shown as text.
"""

from __future__ import annotations

import urllib.parse
from dataclasses import dataclass


def safe_href(uri: str | None) -> str | None:
    """``uri`` if it is an absolute http(s) URL, else None (shown as text, never as a link)."""
    if not uri:
        return None
    parsed = urllib.parse.urlsplit(uri.strip())
    if parsed.scheme in ("http", "https") and parsed.netloc:
        return uri.strip()
    return None


def _quote(segment: str) -> str:
    return urllib.parse.quote(str(segment), safe="")


@dataclass(frozen=True)
class LinkBuilder:
    """Builds links to the MLflow UI and to DAG runs in the Airflow UI.

    :param mlflow_ui_url: base URL of the MLflow UI (http/https), or None for no MLflow links.
    :param airflow_url: base URL (or path prefix, ``""`` for the same origin) of the Airflow UI.
    """

    mlflow_ui_url: str | None
    airflow_url: str = ""

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
