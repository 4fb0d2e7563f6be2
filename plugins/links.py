"""Operator extra links, one class per target, each an http(s) URL built from the task's XCom.

============================  ==========================  ====================================
link                          operator                    target
============================  ==========================  ====================================
:class:`DataRevisionLink`     DvcPullOperator             the commit on the registry's forge
:class:`DataDocsLink`         ValidateDataOperator        the data docs, ``/mlops/reports/``
:class:`TrainingOutputLink`   TrainInDockerOperator       the training folder (metrics, config)
:class:`ParityReportLink`     ExportOnnxOperator          the ONNX parity report
:class:`MlflowRunLink`        RegisterModelOperator       the MLflow run of the version
:class:`MlflowModelVersionLink`  RegisterModelOperator    the MLflow model version
:class:`EvaluationReportLink` EvaluateAndPromoteOperator  the gate's report (MLflow artifact)
:class:`DriftReportLink`      DriftMonitorOperator        Evidently's drift report
:class:`InferenceLogLink`     BatchPredictOperator        the summary of the inference log file
============================  ==========================  ====================================

Airflow computes a link when the task finishes (successful or not) and stores it in XCom
(``_link_<class>``); the UI shows a button for a non-empty one. The report links point at the
plugin's ``/mlops/reports/`` routes (:mod:`airflow_mlops.plugins.reports`) on the API server
named by ``[api] base_url``; a report outside the artifact root, or an unset base URL, gives no
link. The MLflow links point at the MLflow UI of the operator's connection. An operator opts
in with ``operator_extra_links = (DataDocsLink(), ...)``; the provider info and the plugin list
:data:`EXTRA_LINKS`.
"""

from __future__ import annotations

import re
import urllib.parse
from abc import abstractmethod
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseOperatorLink
from airflow.sdk.execution_time.xcom import XCom

from airflow_mlops.errors import ConfigError
from airflow_mlops.hooks.mlflow import MlflowHook

if TYPE_CHECKING:
    from airflow.models.taskinstancekey import TaskInstanceKey
    from airflow.sdk import BaseOperator

    from airflow_mlops.dashboard.links import LinkBuilder

# The URL builders (dashboard.links, plugins.reports) load when a link is computed in the API
# server, not when an operator module that names its links is imported at DAG parse.

#: XCom key of the data docs URI that ValidateDataOperator pushes (also when the data fails)
DOCS_KEY = "data_docs_uri"
#: XCom key of the drift report URI that DriftMonitorOperator pushes
REPORT_KEY = "drift_report_uri"
#: an MLflow run's artifact URI: ``.../<run_id>/artifacts/<path>``
_RUN_ARTIFACT = re.compile(r"/([0-9a-f]{32})/artifacts/(.+)$")


def airflow_base_url() -> str:
    """The API server's URL, ``[api] base_url`` (``""`` when unset)."""
    from airflow.configuration import conf

    return (conf.get("api", "base_url", fallback="") or "").strip()


class ResultLink(BaseOperatorLink):
    """A link computed from the task's XCom return value by :meth:`url`."""

    def get_link(self, operator: BaseOperator, *, ti_key: TaskInstanceKey) -> str:
        result = XCom.get_value(ti_key=ti_key, key="return_value")
        return self.url(operator, result) if isinstance(result, dict) else ""

    @abstractmethod
    def url(self, operator: Any, result: dict[str, Any]) -> str:
        """The link for ``result``, or ``""`` when it has none."""


def _links(operator: Any) -> LinkBuilder | None:
    from airflow_mlops.dashboard.links import LinkBuilder

    try:
        conn_id = getattr(operator, "mlflow_conn_id", MlflowHook.default_conn_name)
        uri = MlflowHook(conn_id).get_tracking_uri()
    except ConfigError:
        return None
    return LinkBuilder(mlflow_ui_url=uri)


def served_url(uri: Any) -> str:
    """The ``/mlops/reports/`` URL that serves artifact ``uri``, ``uri`` itself when it is an
    http(s) URL, else ``""``."""
    from airflow_mlops.dashboard.links import safe_href
    from airflow_mlops.plugins.reports import report_path, report_url

    if not uri:
        return ""
    if safe_href(str(uri)):
        return str(uri).strip()
    relative, base = report_path(str(uri)), airflow_base_url()
    return report_url(base, relative) if relative and safe_href(base) else ""


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


class DataRevisionLink(ResultLink):
    """The pulled commit on the registry's forge (``<https repo>/commit/<commit>``); a local
    registry or an ssh URL has no web page, so no link."""

    name = "Data revision"

    def url(self, operator: Any, result: dict[str, Any]) -> str:
        registry, commit = str(result.get("registry") or ""), result.get("commit")
        parts = urllib.parse.urlsplit(registry)
        if not commit or parts.scheme not in ("http", "https") or not parts.hostname:
            return ""
        host = parts.hostname + (f":{parts.port}" if parts.port else "")  # no credentials
        path = parts.path.rstrip("/").removesuffix(".git")
        return f"{parts.scheme}://{host}{path}/commit/{urllib.parse.quote(str(commit), safe='')}"


class ReportLink(ResultLink):
    """A report file whose URI the result holds under :attr:`result_key`, served by the
    plugin's report routes. With :attr:`pushed_key`, the URI the task pushes before it can
    fail is read first, so a failed task still links its report."""

    result_key: str
    pushed_key: str | None = None

    def get_link(self, operator: BaseOperator, *, ti_key: TaskInstanceKey) -> str:
        if self.pushed_key:
            pushed = XCom.get_value(ti_key=ti_key, key=self.pushed_key)
            if pushed:
                return served_url(pushed)
        return super().get_link(operator, ti_key=ti_key)

    def url(self, operator: Any, result: dict[str, Any]) -> str:
        return served_url(result.get(self.result_key))


class DataDocsLink(ReportLink):
    """The Great Expectations data docs that the validation rendered."""

    name = "Data docs"
    pushed_key = DOCS_KEY
    result_key = "data_docs_uri"


class TrainingOutputLink(ReportLink):
    """The training folder: ``metrics.json``, ``config.json`` and the checkpoint."""

    name = "Training output"
    result_key = "checkpoint_uri"

    def url(self, operator: Any, result: dict[str, Any]) -> str:
        link = super().url(operator, result)
        return f"{link.rstrip('/')}/" if link else ""


class ParityReportLink(ReportLink):
    """The ONNX export's report: parity with torch, latency, the model's sha256."""

    name = "ONNX parity report"
    result_key = "report_uri"


class DriftReportLink(ReportLink):
    """The Evidently HTML drift report of the monitoring run."""

    name = "Drift report"
    pushed_key = REPORT_KEY
    result_key = "report_uri"


class InferenceLogLink(ReportLink):
    """The summary of the inference log file that the scoring wrote (rows, columns, versions)."""

    name = "Inference log"
    result_key = "inference_log_uri"


class EvaluationReportLink(ResultLink):
    """The gate's evaluation report, an artifact of the challenger's MLflow run, rendered
    with its plots by the report routes."""

    name = "Evaluation report"

    def url(self, operator: Any, result: dict[str, Any]) -> str:
        from airflow_mlops.dashboard.links import safe_href
        from airflow_mlops.plugins.reports import mlflow_artifact_path, report_url

        found = _RUN_ARTIFACT.search(str(result.get("report_uri") or ""))
        base = airflow_base_url()
        if not found or not safe_href(base):
            return ""
        return report_url(base, mlflow_artifact_path(found[1], found[2]))


EXTRA_LINKS = (
    DataRevisionLink,
    DataDocsLink,
    TrainingOutputLink,
    ParityReportLink,
    MlflowRunLink,
    MlflowModelVersionLink,
    EvaluationReportLink,
    DriftReportLink,
    InferenceLogLink,
)
