"""Operator extra links: MLflow run, MLflow model version, data docs and drift report.

Each link reads the task's XCom return value (a small dict) after ``execute``; an operator opts in
with ``operator_extra_links = (MlflowRunLink(), ...)``. Keys read: ``run_id`` (and
``experiment_id`` when known), ``name`` and ``version``, ``data_docs_uri``, ``report_uri``.
A link is empty when its keys are missing, or when a URI is not an http(s) URL.
"""

from __future__ import annotations

from abc import abstractmethod
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseOperatorLink
from airflow.sdk.execution_time.xcom import XCom

from airflow_mlops.dashboard import LinkBuilder, safe_href
from airflow_mlops.errors import ConfigError
from airflow_mlops.hooks.mlflow import MlflowHook

if TYPE_CHECKING:
    from airflow.models.taskinstancekey import TaskInstanceKey
    from airflow.sdk import BaseOperator


class ResultLink(BaseOperatorLink):
    """A link computed from the task's XCom return value by :meth:`url`."""

    def get_link(self, operator: BaseOperator, *, ti_key: TaskInstanceKey) -> str:
        result = XCom.get_value(ti_key=ti_key, key="return_value")
        return self.url(operator, result) if isinstance(result, dict) else ""

    @abstractmethod
    def url(self, operator: Any, result: dict[str, Any]) -> str:
        """The link for ``result``, or ``""`` when it has none."""


def _links(operator: Any) -> LinkBuilder | None:
    try:
        conn_id = getattr(operator, "mlflow_conn_id", MlflowHook.default_conn_name)
        uri = MlflowHook(conn_id).get_tracking_uri()
    except ConfigError:
        return None
    return LinkBuilder(mlflow_ui_url=uri)


class MlflowRunLink(ResultLink):
    """The MLflow run named by ``run_id`` (and ``experiment_id``) in the task's result."""

    name = "MLflow run"

    def url(self, operator: Any, result: dict[str, Any]) -> str:
        links = _links(operator)
        run_id = result.get("run_id")
        return (links.run(result.get("experiment_id"), run_id) if links and run_id else "") or ""


class MlflowModelVersionLink(ResultLink):
    """The MLflow model version named by ``name`` and ``version`` in the task's result."""

    name = "MLflow model version"

    def url(self, operator: Any, result: dict[str, Any]) -> str:
        links = _links(operator)
        name, version = result.get("name"), result.get("version")
        if not (links and name and version is not None):
            return ""
        return links.model_version(str(name), str(version)) or ""


class DataDocsLink(ResultLink):
    """Great Expectations data docs at ``data_docs_uri`` in the task's result."""

    name = "Data docs"

    def url(self, operator: Any, result: dict[str, Any]) -> str:
        return safe_href(result.get("data_docs_uri")) or ""


class DriftReportLink(ResultLink):
    """The Evidently drift report at ``report_uri`` in the task's result."""

    name = "Drift report"

    def url(self, operator: Any, result: dict[str, Any]) -> str:
        return safe_href(result.get("report_uri")) or ""


EXTRA_LINKS = (MlflowRunLink, MlflowModelVersionLink, DataDocsLink, DriftReportLink)
