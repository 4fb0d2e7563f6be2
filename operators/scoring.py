"""BatchPredictOperator: score a dataset with a registered model, append to the inference log."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseOperator

from airflow_mlops.errors import MlopsError
from airflow_mlops.hooks.mlflow import MlflowHook
from airflow_mlops.inputs import (
    check_int,
    check_name,
    check_path,
    check_text,
    check_version,
    check_version_or_alias,
    rule,
)
from airflow_mlops.monitoring.scoring import safe_name
from airflow_mlops.operators.arguments import check_arguments
from airflow_mlops.operators.exceptions import MlopsTaskError
from airflow_mlops.plugins.links import InferenceLogLink
from airflow_mlops.settings import MlopsHome

if TYPE_CHECKING:
    from airflow.sdk import Context

    from airflow_mlops.export.runtime import OnnxPredictor


class BatchPredictError(MlopsTaskError):
    """Batch scoring failed: model not found, input missing or lacking columns."""


#: argument checks of the operators that load a registered model (here and in monitoring)
MODEL_RULES = {
    "model_name": check_name,
    "alias": check_version_or_alias,
    "inference_log_root": rule(check_path, allow_none=True),
    "cache_dir": rule(check_path, allow_none=True),
}


def load_registered_model(
    mlflow_conn_id: str, model: str, alias_or_version: str, cache_dir: str | None
) -> tuple[Any, OnnxPredictor]:
    """The registered version of ``model`` that ``alias_or_version`` names (an alias such as
    ``champion``: "Lineage tags and aliases" in docs/architecture.md) and its ONNX predictor,
    cached locally by version under ``cache_dir`` (default ``$AIRFLOW_MLOPS_HOME/model-cache``)."""
    from airflow_mlops.export.runtime import OnnxPredictor
    from airflow_mlops.model_registry import download_onnx, resolve_model_version

    tracking_uri = MlflowHook(mlflow_conn_id).get_tracking_uri()
    ref = resolve_model_version(tracking_uri, model, alias_or_version)
    cache = Path(cache_dir) if cache_dir else MlopsHome.from_env().root / "model-cache"
    return ref, OnnxPredictor.load(download_onnx(tracking_uri, ref, cache))


class BatchPredictOperator(BaseOperator):
    """Score a dataset with a registered ONNX model and append the rows to the inference log.

    Returns to XCom ``{"model", "model_version", "predictions_uri", "inference_log_uri", "rows",
    "seconds", "rows_per_second"}``. The log is Parquet under
    ``<inference_log_root>/<model>/date=YYYY-MM-DD/part-<run_id>.parquet`` (inputs,
    ``prediction_id``, ``prediction``, ``confidence``, ``model_version``, ``scored_at``); a retry
    replaces its own file. Labels that arrive later are joined on ``prediction_id`` by
    :class:`~airflow_mlops.operators.monitoring.DriftMonitorOperator` (``labels_path``).

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
    :param id_column: the input's id column, logged as ``prediction_id``; default
        ``<run_id>-<row>``. (templated)
    """

    template_fields: Sequence[str] = (
        "model_name",
        "input_path",
        "alias",
        "version",
        "output_path",
        "inference_log_root",
        "id_column",
    )
    operator_extra_links = (InferenceLogLink(),)
    ui_color = "#d9f2f2"
    argument_rules = {
        **MODEL_RULES,
        "input_path": check_path,
        "version": rule(check_version, allow_blank=True),
        "output_path": rule(check_path, allow_none=True),
        "mlflow_conn_id": check_name,
        "chunk_rows": rule(check_int, 1, 100_000_000),
        "id_column": rule(check_text, max_length=256, allow_none=True),
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
        id_column: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.id_column = id_column
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
        wanted = str(self.version) if self.version not in (None, "") else str(self.alias)
        ref, predictor = load_registered_model(
            self.mlflow_conn_id, self.model_name, wanted, self.cache_dir
        )
        return str(ref.version), predictor

    def execute(self, context: Context) -> dict[str, Any]:
        from airflow_mlops.monitoring.scoring import score_dataset

        check_arguments(self, self.argument_rules, rendered=True)
        artifacts = MlopsHome.from_env().artifacts
        run = safe_name(context["run_id"])
        if context["ti"].map_index >= 0:  # mapped over files: one output and log file each
            run = f"{run}-{context['ti'].map_index}"
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
                id_column=self.id_column or None,
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
