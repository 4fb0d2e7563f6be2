"""Operator extra links, one class per target: MLflow run, MLflow model version, data docs and
drift report.

Each link reads the task's XCom after ``execute``; an operator opts in with
``operator_extra_links = (MlflowRunLink(), ...)``, and the provider info and the plugin list
:data:`EXTRA_LINKS`. The MLflow links read the return value (a small dict): ``run_id`` (and
``experiment_id`` when known), ``name`` and ``version``. The document links read the XCom key
the operator pushes before it can fail (:data:`DOCS_KEY`, :data:`REPORT_KEY`), so a failed
validation still links its data docs, else the return value's ``data_docs_uri``/``report_uri``.
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

#: XCom key of the data docs URI that ValidateDataOperator pushes (also when the data fails)
DOCS_KEY = "data_docs_uri"
#: XCom key of the drift report URI that DriftMonitorOperator pushes
REPORT_KEY = "drift_report_uri"


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


class DocumentLink(ResultLink):
    """A document whose URI the task pushes under :attr:`xcom_key` (before it can fail), and
    returns under :attr:`result_key` in its result."""

    xcom_key: str
    result_key: str

    def get_link(self, operator: BaseOperator, *, ti_key: TaskInstanceKey) -> str:
        pushed = XCom.get_value(ti_key=ti_key, key=self.xcom_key)
        if pushed:
            return safe_href(str(pushed)) or ""
        return super().get_link(operator, ti_key=ti_key)

    def url(self, operator: Any, result: dict[str, Any]) -> str:
        return safe_href(result.get(self.result_key)) or ""


class DataDocsLink(DocumentLink):
    """The Great Expectations data docs that the validation rendered."""

    name = "Data docs"
    xcom_key = DOCS_KEY
    result_key = "data_docs_uri"


class DriftReportLink(DocumentLink):
    """The Evidently HTML drift report of the monitoring run."""

    name = "Drift report"
    xcom_key = REPORT_KEY
    result_key = "report_uri"


EXTRA_LINKS = (MlflowRunLink, MlflowModelVersionLink, DataDocsLink, DriftReportLink)
