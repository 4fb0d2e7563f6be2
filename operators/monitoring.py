"""BatchPredictOperator and DriftMonitorOperator: score with the champion, watch for drift."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from airflow.sdk import AssetAlias, BaseOperator, BaseOperatorLink

from airflow_mlops.assets import drift_asset_uri
from airflow_mlops.errors import ConfigError, DriftError, MlopsError
from airflow_mlops.hooks.mlflow import MlflowHook
from airflow_mlops.inputs import (
    check_git_source,
    check_int,
    check_name,
    check_number,
    check_path,
    check_text,
    check_version,
    check_version_or_alias,
    rule,
)
from airflow_mlops.lineage import (
    DATA_COMMIT_TAG,
    DATA_REV_TAG,
    DATASET_TAG,
    MODEL_TAG,
    MODEL_VERSION_TAG,
    REASON_TAG,
    REPORT_TAG,
    WINDOW_TAG,
)
from airflow_mlops.monitoring.drift_types import DriftConfig
from airflow_mlops.monitoring.scoring import safe_name
from airflow_mlops.operators.arguments import check_arguments, has_template
from airflow_mlops.operators.exceptions import MlopsTaskError
from airflow_mlops.settings import MlopsHome

if TYPE_CHECKING:
    import pandas as pd
    from airflow.sdk import Context
    from airflow.sdk.types import TaskInstanceKey

    from airflow_mlops.export.runtime import OnnxPredictor

REPORT_KEY = "drift_report_uri"
#: metrics per MLflow ``log_batch`` call (the server refuses more)
MLFLOW_BATCH = 1000


class BatchPredictError(MlopsTaskError):
    """Batch scoring failed: model not found, input missing or lacking columns."""


class DriftMonitorError(MlopsTaskError):
    """Drift could not be measured: empty window, missing columns, no reference."""


def drift_alias(model: str) -> AssetAlias:
    """The alias the monitor emits through; its events land on ``drift_asset_uri(model)``."""
    return AssetAlias(name=f"mlops-drift-alias-{model}")


def _model_files(
    tracking_uri: str, model: str, alias_or_version: str, cache_dir: str | None
) -> tuple[Any, Path]:
    """The registry version (contract 3) and its ONNX file, cached locally by version."""
    from airflow_mlops.model_registry import download_onnx, resolve_model_version

    ref = resolve_model_version(tracking_uri, model, alias_or_version)
    cache = Path(cache_dir) if cache_dir else MlopsHome.from_env().root / "model-cache"
    return ref, download_onnx(tracking_uri, ref, cache)


#: argument checks shared by the two operators
_COMMON_RULES = {
    "model_name": check_name,
    "alias": check_version_or_alias,
    "inference_log_root": rule(check_path, allow_none=True),
    "cache_dir": rule(check_path, allow_none=True),
}


class BatchPredictOperator(BaseOperator):
    """Score a dataset with a registered ONNX model and append the rows to the inference log.

    Returns to XCom ``{"model", "model_version", "predictions_uri", "inference_log_uri", "rows",
    "seconds", "rows_per_second"}``. The log is Parquet under
    ``<inference_log_root>/<model>/date=YYYY-MM-DD/part-<run_id>.parquet`` (inputs,
    ``prediction``, ``model_version``, ``scored_at``); a retry replaces its own file.

    :param model_name: the registered model. (templated)
    :param input_path: CSV or Parquet file to score. (templated)
    :param alias: the alias to score with when ``version`` is not given. (templated)
    :param version: a model version number; wins over ``alias``. (templated)
    :param output_path: the predictions Parquet file; default
        ``<artifacts>/predictions/<model>/<run_id>.parquet``. (templated)
    :param inference_log_root: default ``<artifacts>/inference_log``. (templated)
    :param mlflow_conn_id: Airflow connection of type ``mlflow`` (host = tracking URL).
    :param cache_dir: where downloaded models are cached; default
        ``$AIRFLOW_MLOPS_HOME/model-cache``.
    :param chunk_rows: rows scored per onnxruntime call.
    """

    template_fields: Sequence[str] = (
        "model_name",
        "input_path",
        "alias",
        "version",
        "output_path",
        "inference_log_root",
    )
    ui_color = "#d9f2f2"
    argument_rules = {
        **_COMMON_RULES,
        "input_path": check_path,
        "version": rule(check_version, allow_blank=True),
        "output_path": rule(check_path, allow_none=True),
        "mlflow_conn_id": check_name,
        "chunk_rows": rule(check_int, 1, 100_000_000),
    }

    def __init__(
        self,
        *,
        model_name: str,
        input_path: str,
        alias: str = "champion",
        version: str | int | None = None,
        output_path: str | None = None,
        inference_log_root: str | None = None,
        mlflow_conn_id: str = "mlflow_default",
        cache_dir: str | None = None,
        chunk_rows: int = 65_536,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.model_name = model_name
        self.input_path = input_path
        self.alias = alias
        self.version = version
        self.output_path = output_path
        self.inference_log_root = inference_log_root
        self.mlflow_conn_id = mlflow_conn_id
        self.cache_dir = cache_dir
        self.chunk_rows = chunk_rows
        check_arguments(self, self.argument_rules, rendered=False)

    def load_model(self) -> tuple[str, OnnxPredictor]:
        """(version, predictor) of the model to score with; override to score another way."""
        from airflow_mlops.export.runtime import OnnxPredictor

        wanted = str(self.version) if self.version not in (None, "") else str(self.alias)
        ref, onnx = _model_files(
            MlflowHook(self.mlflow_conn_id).get_tracking_uri(),
            self.model_name,
            wanted,
            self.cache_dir,
        )
        return str(ref.version), OnnxPredictor.load(onnx)

    def execute(self, context: Context) -> dict[str, Any]:
        from airflow_mlops.monitoring.scoring import score_dataset

        check_arguments(self, self.argument_rules, rendered=True)
        artifacts = MlopsHome.from_env().artifacts
        run = safe_name(context["run_id"])
        output = self.output_path or artifacts / "predictions" / safe_name(self.model_name)
        output = Path(output) / f"{run}.parquet" if not self.output_path else Path(output)
        try:
            version, predictor = self.load_model()
            result = score_dataset(
                predictor,
                self.input_path,
                predictions_path=output,
                log_root=self.inference_log_root or MlopsHome.from_env().inference_log,
                model=self.model_name,
                model_version=version,
                run=run,
                scored_at=dt.datetime.now(dt.UTC),
                chunk_rows=self.chunk_rows,
            )
        except MlopsError as error:
            raise BatchPredictError.from_core(error) from error
        self.log.info(
            "Scored %d rows of %s with %s v%s in %.2f s (%.0f rows/s); log: %s",
            result.rows,
            self.input_path,
            self.model_name,
            version,
            result.seconds,
            result.rows_per_second,
            result.inference_log_uri,
        )
        return {"model": self.model_name, **result.as_dict()}


class DriftReportLink(BaseOperatorLink):
    """Extra link to the Evidently HTML drift report of the run."""

    name = "Drift report"

    def get_link(self, operator: BaseOperator, *, ti_key: TaskInstanceKey) -> str:
        from airflow.sdk.execution_time.xcom import XCom

        return XCom.get_value(ti_key=ti_key, key=REPORT_KEY) or ""


class DriftMonitorOperator(BaseOperator):
    """Compare a window of the inference log with the champion's training data; ask for
    retraining when data, predictions or performance drifted.

    Data drift uses Evidently 0.7's per-column tests and thresholds, computed on the full
    window in a streamed pass (:mod:`airflow_mlops.monitoring.scalable`); Evidently's HTML report,
    drawn from samples, is saved under the artifact root (extra link "Drift report"). Metrics go
    to MLflow (experiment ``monitoring/<model>``). When retraining is due, an event is emitted
    on the asset ``x-mlops://drift/<model>`` with extra ``{"reason": "drift"|"performance",
    "model", "window", "drift_share"}`` (through the alias :func:`drift_alias`, so no event is
    emitted otherwise).

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
    )
    operator_extra_links = (DriftReportLink(),)
    ui_color = "#f9e0c7"
    argument_rules = {
        **_COMMON_RULES,
        "window_start": check_text,
        "window_end": check_text,
        "reference_path": rule(check_path, allow_none=True),
        "data_registry": rule(check_git_source, allow_none=True),
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
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
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
        from airflow_mlops.export.runtime import OnnxPredictor

        ref, onnx = _model_files(
            MlflowHook(self.mlflow_conn_id).get_tracking_uri(),
            self.model_name,
            str(self.alias),
            self.cache_dir,
        )
        return ref, OnnxPredictor.load(onnx)

    def load_reference(self, version: Any, context: Context) -> pd.DataFrame:
        """The reference rows: ``reference_path``, else the version's training data."""
        from airflow_mlops.data.io import read_table

        if self.reference_path:
            return read_table(self.reference_path)
        tags = dict(getattr(version, "tags", {}) or {})
        if not (self.data_registry and DATASET_TAG in tags and DATA_REV_TAG in tags):
            raise DriftError(
                f"No reference for {self.model_name!r}: reference_path is not set and "
                f"{'data_registry is not set' if not self.data_registry else 'the version lacks'}"
                f" {DATASET_TAG}/{DATA_REV_TAG} tags.",
                hint="Set reference_path, or data_registry for a model registered by the CT DAG.",
                details={"tags": sorted(tags)},
            )
        from airflow_mlops.data.dvc import pull

        home = MlopsHome.from_env()
        workspace = home.workspaces / "monitoring" / safe_name(context["run_id"]) / self.task_id
        pulled = pull(
            self.data_registry,
            [tags[DATASET_TAG]],
            # the resolved commit: a branch named in data_rev may have moved since training
            rev=tags.get(DATA_COMMIT_TAG) or tags[DATA_REV_TAG],
            workspace=workspace,
            cache_dir=home.dvc_cache,
        )
        return read_table(pulled.targets[0].local_path)

    def window(self) -> tuple[dt.date, dt.date]:
        try:
            return dt.date.fromisoformat(self.window_start), dt.date.fromisoformat(self.window_end)
        except ValueError as error:
            raise DriftError(
                f"Window {self.window_start!r}..{self.window_end!r} is not two YYYY-MM-DD dates.",
                hint="Pass dates such as '{{ ds }}' or '2024-05-01'.",
            ) from error

    def log_to_mlflow(self, result: dict[str, Any], version: str) -> str:
        """Log the drift metrics as a run of the experiment ``monitoring/<model>`` (their
        history); returns the MLflow run id. Uses the client API: no global MLflow state."""
        from mlflow.entities import Metric

        from airflow_mlops.model_registry.client import (
            mlflow_client,
            monitoring_experiment,
            registry_call,
        )
        from airflow_mlops.model_registry.register import experiment_id

        metrics = {
            "drift_share": result["drift_share"],
            "drifted_columns": len(result["drifted_columns"]),
            "current_rows": result["current_rows"],
        }
        metrics.update({f"drift.{c}": t["score"] for c, t in result["tests"].items()})
        if result["prediction_drift"]:
            metrics["prediction_drift"] = result["prediction_drift"]["score"]
        if result["performance"]:
            metrics["performance_current"] = result["performance"]["current"]
            metrics["performance_drop"] = result["performance"]["drop"]
        tags = {
            MODEL_TAG: self.model_name,
            MODEL_VERSION_TAG: version,
            WINDOW_TAG: result["window"],
            REASON_TAG: result["reason"] or "none",
            REPORT_TAG: result["report_uri"],
        }
        uri = MlflowHook(self.mlflow_conn_id).get_tracking_uri()
        client = mlflow_client(uri)
        experiment = experiment_id(client, uri, monitoring_experiment(self.model_name))
        now = int(time.time() * 1000)
        logged = [Metric(safe_name(k), float(v), now, 0) for k, v in metrics.items()]

        def log() -> str:
            run = client.create_run(experiment, run_name=result["window"], tags=tags)
            for first in range(0, len(logged), MLFLOW_BATCH):  # the server's limit per call
                client.log_batch(run.info.run_id, metrics=logged[first : first + MLFLOW_BATCH])
            client.set_terminated(run.info.run_id)
            return run.info.run_id

        return registry_call(f"log the drift metrics of {self.model_name!r}", uri, log)

    def execute(self, context: Context) -> dict[str, Any]:
        from airflow_mlops.monitoring.monitor import monitor_window
        from airflow_mlops.monitoring.scoring import PREDICTION, window_files

        check_arguments(self, self.argument_rules, rendered=True)
        artifacts = MlopsHome.from_env().artifacts
        report = (
            artifacts / "drift" / safe_name(self.model_name) / safe_name(context["run_id"])
        ) / "report.html"
        try:
            start, end = self.window()
            files = window_files(
                self.inference_log_root or MlopsHome.from_env().inference_log,
                self.model_name,
                start,
                end,
            )
            version, predictor = self.load_model()
            reference = self.load_reference(version, context)
            missing = [c for c in predictor.feature_columns if c not in reference.columns]
            if missing:
                raise DriftError(
                    f"The reference data lacks the model's columns {missing}.",
                    hint="Point reference_path at the data the model was trained on.",
                    details={"missing": missing},
                )
            reference = reference.assign(**{PREDICTION: predictor.predict(reference)})
            outcome = monitor_window(
                reference,
                files,
                numerical_columns=predictor.numeric_columns,
                categorical_columns=predictor.categorical_columns,
                report_path=report,
                config=self.drift,
                task=predictor.task,
                label=self.label_column or predictor.label,
                max_performance_drop=self.max_performance_drop,
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
                result["mlflow_run_id"] = self.log_to_mlflow(result, str(version.version))
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
        if result["reason"]:
            self.emit(context, result)
        return result

    def emit(self, context: Context, result: dict[str, Any]) -> None:
        """Add the drift event (asset ``x-mlops://drift/<model>``) through the alias outlet."""
        from airflow.sdk import Asset

        extra = {
            "reason": result["reason"],
            "model": self.model_name,
            "window": result["window"],
            "drift_share": result["drift_share"],
        }
        context["outlet_events"][drift_alias(self.model_name)].add(
            Asset(drift_asset_uri(self.model_name)), extra=extra
        )
