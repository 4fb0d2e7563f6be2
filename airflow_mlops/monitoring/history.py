"""The drift history: each monitoring run's metrics as an MLflow run of the experiment
``monitoring/<model>`` (the MLflow client API, no global MLflow state)."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from airflow_mlops.lineage import MODEL_TAG, MODEL_VERSION_TAG, REASON_TAG, REPORT_TAG, WINDOW_TAG
from airflow_mlops.monitoring.scoring import safe_name

#: metrics per MLflow ``log_batch`` call (the server refuses more)
MLFLOW_BATCH = 1000
#: the run's share of drifted columns (the page's drift chart)
DRIFT_SHARE_METRIC = "drift_share"
#: per column: ``drift.<column>`` its test's score, ``drifted.<column>`` 1.0 when it drifted
COLUMN_SCORE_PREFIX = "drift."
COLUMN_DRIFTED_PREFIX = "drifted."


def drift_metrics(result: Mapping[str, Any]) -> dict[str, float]:
    """The metrics of a monitoring result (:meth:`MonitorResult.as_dict` plus ``window``):
    shares, per-column scores ``drift.<column>`` and decisions ``drifted.<column>`` (1.0 or
    0.0), prediction and performance figures; names made safe for MLflow."""
    metrics = {
        DRIFT_SHARE_METRIC: result["drift_share"],
        "drifted_columns": len(result["drifted_columns"]),
        "current_rows": result["current_rows"],
    }
    for column, test in result["tests"].items():
        metrics[COLUMN_SCORE_PREFIX + column] = test["score"]
        if "drifted" in test:
            metrics[COLUMN_DRIFTED_PREFIX + column] = float(bool(test["drifted"]))
    if result["prediction_drift"]:
        metrics["prediction_drift"] = result["prediction_drift"]["score"]
    if result.get("multivariate_drift"):
        metrics["multivariate_error"] = result["multivariate_drift"]["current_error"]
    if result["performance"]:
        metrics["performance_current"] = result["performance"]["current"]
        metrics["performance_drop"] = result["performance"]["drop"]
        for kind in ("measured", "estimated"):
            if result["performance"].get(kind) is not None:
                metrics[f"performance_{kind}"] = result["performance"][kind]
    return {safe_name(k): float(v) for k, v in metrics.items()}


def log_drift_history(
    tracking_uri: str, model: str, version: str, result: Mapping[str, Any]
) -> str:
    """Log ``result``'s :func:`drift_metrics` as a finished run of the experiment
    ``monitoring/<model>``, tagged with the model version, window, reason and report URI.

    :returns: the MLflow run id.
    :raises RegistryError: the tracking server could not be reached or refused the run.
    """
    from mlflow.entities import Metric

    from airflow_mlops.model_registry.client import (
        mlflow_client,
        monitoring_experiment,
        registry_call,
    )
    from airflow_mlops.model_registry.register import experiment_id

    tags = {
        MODEL_TAG: model,
        MODEL_VERSION_TAG: version,
        WINDOW_TAG: result["window"],
        REASON_TAG: result["reason"] or "none",
        REPORT_TAG: result["report_uri"],
    }
    client = mlflow_client(tracking_uri)
    experiment = experiment_id(client, tracking_uri, monitoring_experiment(model))
    now = int(time.time() * 1000)
    logged = [Metric(k, v, now, 0) for k, v in drift_metrics(result).items()]

    def log() -> str:
        run = client.create_run(experiment, run_name=result["window"], tags=tags)
        for first in range(0, len(logged), MLFLOW_BATCH):
            client.log_batch(run.info.run_id, metrics=logged[first : first + MLFLOW_BATCH])
        client.set_terminated(run.info.run_id)
        return run.info.run_id

    return registry_call(f"log the drift metrics of {model!r}", tracking_uri, log)
