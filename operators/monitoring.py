"""DriftMonitorOperator: compare the inference log with the model's training data, ask for
retraining on drift. ``BatchPredictOperator`` lives in :mod:`airflow_mlops.operators.scoring`
(re-exported here)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from airflow.sdk import AssetAlias, BaseOperator

from airflow_mlops.assets import monitoring_asset_uri
from airflow_mlops.errors import ConfigError, DriftError, MlopsError
from airflow_mlops.hooks.mlflow import MlflowHook
from airflow_mlops.inputs import (
    check_git_source,
    check_name,
    check_number,
    check_path,
    check_text,
    rule,
)
from airflow_mlops.monitoring.drift_types import DriftConfig
from airflow_mlops.operators.arguments import check_arguments, has_template
from airflow_mlops.operators.artifacts import context_artifact_dir
from airflow_mlops.operators.exceptions import MlopsTaskError
from airflow_mlops.operators.scoring import MODEL_RULES, load_registered_model
from airflow_mlops.operators.scoring import BatchPredictError as BatchPredictError
from airflow_mlops.operators.scoring import BatchPredictOperator as BatchPredictOperator
from airflow_mlops.plugins.links import REPORT_KEY as REPORT_KEY
from airflow_mlops.plugins.links import DriftReportLink
from airflow_mlops.settings import MlopsHome

if TYPE_CHECKING:
    import pandas as pd
    from airflow.sdk import Context

    from airflow_mlops.export.runtime import OnnxPredictor


class DriftMonitorError(MlopsTaskError):
    """Drift could not be measured: empty window, missing columns, no reference."""


def drift_alias(model: str) -> AssetAlias:
    """The alias the monitor emits through; its events land on ``x-mlops://drift/<model>`` or
    ``x-mlops://performance/<model>`` (:func:`~airflow_mlops.assets.monitoring_asset_uri`)."""
    return AssetAlias(name=f"mlops-drift-alias-{model}")


class DriftMonitorOperator(BaseOperator):
    """Compare a window of the inference log with the champion's training data; ask for
    retraining when data, predictions or performance drifted.

    Data drift uses Evidently 0.7's per-column tests and thresholds, computed on the full
    window in a streamed pass (:mod:`airflow_mlops.monitoring.scalable`); Evidently's HTML report,
    drawn from samples, is saved to
    ``<artifacts>/drift/<dag_id>/<run_id>/<task_id>[/<map_index>]/report.html`` (extra link
    "Drift report"). Metrics go to MLflow (experiment ``monitoring/<model>``,
    :func:`~airflow_mlops.monitoring.history.log_drift_history`). When retraining is due, an
    event is emitted on the asset ``x-mlops://drift/<model>`` (reason "drift") or
    ``x-mlops://performance/<model>`` (reason "performance"), with extra ``{"reason", "model",
    "window", "drift_share"}`` and, when performance was measured or estimated, ``{"metric",
    "holdout", "live", "basis", "drop"}`` (through the alias
    :func:`drift_alias`, so no event is emitted otherwise).

    Returns to XCom ``{"drift_share", "dataset_drift", "drifted_columns", "tests",
    "prediction_drift", "performance", "reason", "report_uri", "model_version", "window",
    "mlflow_run_id", ...}``.

    :param model_name: the registered model whose inference log is watched. (templated)
    :param alias: the model version to compare with (its lineage gives the reference).
        (templated)
    :param window_start: first scoring date of the window, YYYY-MM-DD. (templated)
    :param window_end: last scoring date (inclusive), YYYY-MM-DD. (templated)
    :param reference_path: a CSV/Parquet reference; default: the champion's training data,
        pulled from ``data_registry`` at the version's ``mlops.dataset``/``mlops.data_rev``
        tags. (templated)
    :param data_registry: the DVC data registry of the training data. (templated)
    :param labels_path: labels that arrived after scoring: a CSV/Parquet file of
        ``prediction_id`` (as logged by batch scoring) and the label column, joined to the
        window's log; a path inside ``labels_registry`` when that is set. Performance is
        compared with the version's holdout metric; without labels it is estimated from the
        model's confidence (CBPE). (templated)
    :param labels_registry: a DVC registry to pull ``labels_path`` from. (templated)
    :param labels_rev: the registry revision of the labels. (templated)
    :param inference_log_root: default ``<artifacts>/inference_log``. (templated)
    :param drift: per-column methods and thresholds (Evidently's names and defaults).
    :param label_column: label column for performance drift (labelled rows of the log);
        default the model's label.
    :param max_performance_drop: accuracy points lost (relative RMSE increase for
        regression) that trigger retraining.
    :param mlflow_conn_id: Airflow connection of type ``mlflow``.
    :param cache_dir: where downloaded models are cached.
    """

    template_fields: Sequence[str] = (
        "model_name",
        "alias",
        "window_start",
        "window_end",
        "reference_path",
        "data_registry",
        "inference_log_root",
        "labels_path",
        "labels_registry",
        "labels_rev",
    )
    operator_extra_links = (DriftReportLink(),)
    ui_color = "#f9e0c7"
    argument_rules = {
        **MODEL_RULES,
        "window_start": check_text,
        "window_end": check_text,
        "reference_path": rule(check_path, allow_none=True),
        "data_registry": rule(check_git_source, allow_none=True),
        "labels_path": rule(check_path, allow_none=True),
        "labels_registry": rule(check_git_source, allow_none=True),
        "labels_rev": rule(check_text, max_length=256),
        "label_column": rule(check_text, max_length=256, allow_none=True),
        "max_performance_drop": rule(check_number, 0, 1),
        "mlflow_conn_id": rule(check_name, allow_blank=True),
    }

    def __init__(
        self,
        *,
        model_name: str,
        alias: str = "champion",
        window_start: str = "{{ ds }}",
        window_end: str = "{{ ds }}",
        reference_path: str | None = None,
        data_registry: str | None = None,
        inference_log_root: str | None = None,
        drift: DriftConfig | Mapping[str, Any] | None = None,
        label_column: str | None = None,
        max_performance_drop: float = 0.05,
        mlflow_conn_id: str = "mlflow_default",
        cache_dir: str | None = None,
        labels_path: str | None = None,
        labels_registry: str | None = None,
        labels_rev: str = "HEAD",
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.labels_path = labels_path
        self.labels_registry = labels_registry
        self.labels_rev = labels_rev
        try:
            self.drift = drift if isinstance(drift, DriftConfig) else DriftConfig(**(drift or {}))
        except (MlopsError, TypeError) as error:
            raise ConfigError(f"drift={drift!r}: invalid drift settings: {error}") from error
        self.model_name = model_name
        self.alias = alias
        self.window_start = window_start
        self.window_end = window_end
        self.reference_path = reference_path
        self.data_registry = data_registry
        self.inference_log_root = inference_log_root
        self.label_column = label_column
        self.max_performance_drop = max_performance_drop
        self.mlflow_conn_id = mlflow_conn_id
        self.cache_dir = cache_dir
        check_arguments(self, self.argument_rules, rendered=False)
        if not has_template(model_name):
            self.outlets = [*self.outlets, drift_alias(model_name)]

    def load_model(self) -> tuple[Any, OnnxPredictor]:
        """(registry version, predictor) of the compared model; override to use another."""
        return load_registered_model(
            self.mlflow_conn_id, self.model_name, str(self.alias), self.cache_dir
        )

    def load_reference(self, version: Any, context: Context) -> pd.DataFrame:
        """The reference rows: ``reference_path``, else the version's training data, pulled
        into ``<workspaces>/monitoring/<dag_id>/<run_id>/<task_id>[/<map_index>]``."""
        from airflow_mlops.data.io import read_table
        from airflow_mlops.monitoring.reference import pull_training_data

        if self.reference_path:
            return read_table(self.reference_path)
        home = MlopsHome.from_env()
        pulled = pull_training_data(
            self.data_registry,
            self.model_name,
            dict(getattr(version, "tags", {}) or {}),
            workspace=context_artifact_dir(context, "monitoring", root=home.workspaces),
            cache_dir=home.dvc_cache,
        )
        return read_table(pulled)

    def load_labels(self, predictor: OnnxPredictor, context: Context) -> pd.Series | None:
        """The labels that arrived, by ``prediction_id`` (None: no ``labels_path``); pulled
        from ``labels_registry`` into ``<workspaces>/labels/...`` when that is set."""
        from airflow_mlops.monitoring.performance import read_labels

        if not self.labels_path:
            return None
        path = Path(self.labels_path)
        if self.labels_registry:
            from airflow_mlops.data.dvc import pull

            home = MlopsHome.from_env()
            pulled = pull(
                self.labels_registry,
                [self.labels_path],
                rev=self.labels_rev,
                workspace=context_artifact_dir(context, "labels", root=home.workspaces),
                cache_dir=home.dvc_cache,
            )
            path = Path(pulled.targets[0].local_path)
        return read_labels(
            path,
            label=self.label_column or predictor.label,
            task=predictor.task,
            classes=predictor.classes,
        )

    def window(self) -> tuple[dt.date, dt.date]:
        try:
            return dt.date.fromisoformat(self.window_start), dt.date.fromisoformat(self.window_end)
        except ValueError as error:
            raise DriftError(
                f"Window {self.window_start!r}..{self.window_end!r} is not two YYYY-MM-DD dates.",
                hint="Pass dates such as '{{ ds }}' or '2024-05-01'.",
            ) from error

    def execute(self, context: Context) -> dict[str, Any]:
        from airflow_mlops.monitoring.history import log_drift_history
        from airflow_mlops.monitoring.monitor import monitor_model
        from airflow_mlops.monitoring.performance import version_split_rule
        from airflow_mlops.monitoring.scoring import window_files

        check_arguments(self, self.argument_rules, rendered=True)
        report = context_artifact_dir(context, "drift") / "report.html"
        try:
            start, end = self.window()
            files = window_files(
                self.inference_log_root or MlopsHome.from_env().inference_log,
                self.model_name,
                start,
                end,
            )
            version, predictor = self.load_model()
            outcome = monitor_model(
                predictor,
                self.load_reference(version, context),
                files,
                report_path=report,
                config=self.drift,
                label=self.label_column,
                max_performance_drop=self.max_performance_drop,
                split_rule=version_split_rule(dict(getattr(version, "tags", {}) or {})),
                labels=self.load_labels(predictor, context),
            )
        except MlopsError as error:
            raise DriftMonitorError.from_core(error) from error
        window = f"{start.isoformat()}..{end.isoformat()}"
        result = {
            **outcome.as_dict(),
            "model": self.model_name,
            "model_version": str(version.version),
            "window": window,
        }
        context["ti"].xcom_push(key=REPORT_KEY, value=Path(result["report_uri"]).as_uri())
        if self.mlflow_conn_id:
            try:
                result["mlflow_run_id"] = log_drift_history(
                    MlflowHook(self.mlflow_conn_id).get_tracking_uri(),
                    self.model_name,
                    result["model_version"],
                    result,
                )
            except MlopsError as error:
                raise DriftMonitorError.from_core(error) from error
        self.log.info(
            "Drift of %s v%s over %s: %.0f%% of columns drifted %s; reason to retrain: %s",
            self.model_name,
            result["model_version"],
            window,
            100 * result["drift_share"],
            result["drifted_columns"],
            result["reason"],
        )
        if result["performance"]:
            self.log.info(
                "%s of %s v%s: %s %.4f on %d rows; measured %s on %d labelled rows, "
                "estimated (CBPE) %s; drop %.4f (max %.4f)",
                result["performance"]["metric"],
                self.model_name,
                result["model_version"],
                result["performance"]["baseline"]["basis"],
                result["performance"]["reference"],
                result["performance"]["baseline"]["rows"],
                result["performance"]["measured"],
                result["performance"]["labelled_rows"],
                result["performance"]["estimated"],
                result["performance"]["drop"],
                result["performance"]["max_drop"],
            )
        if result["reason"]:
            self.emit(context, result)
        return result

    def emit(self, context: Context, result: dict[str, Any]) -> None:
        """Add the event of the verdict's reason (asset ``x-mlops://drift/<model>`` or
        ``x-mlops://performance/<model>``) through the alias outlet."""
        from airflow.sdk import Asset

        extra = {
            "reason": result["reason"],
            "model": self.model_name,
            "window": result["window"],
            "drift_share": result["drift_share"],
        }
        performance = result.get("performance")
        if performance:
            extra.update(
                metric=performance["metric"],
                holdout=performance["reference"],
                live=performance["current"],
                basis=performance["basis"],
                drop=performance["drop"],
            )
        context["outlet_events"][drift_alias(self.model_name)].add(
            Asset(monitoring_asset_uri(result["reason"], self.model_name)), extra=extra
        )
