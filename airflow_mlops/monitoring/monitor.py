"""One monitoring run: data drift, prediction drift and performance drift of a window of the
inference log against a reference, plus Evidently's HTML report, and the retraining verdict."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from airflow_mlops.errors import ConfigError
from airflow_mlops.monitoring.drift_types import ColumnDrift, DriftConfig, DriftResult
from airflow_mlops.monitoring.evidently_report import REPORT_SAMPLE_ROWS, save_html_report
from airflow_mlops.monitoring.reference import with_predictions
from airflow_mlops.monitoring.scalable import compute_drift
from airflow_mlops.monitoring.scoring import PREDICTION
from airflow_mlops.monitoring.sources import Source, frame_source, parquet_source

if TYPE_CHECKING:
    import pandas as pd

    from airflow_mlops.export.runtime import OnnxPredictor

#: performance drop that triggers retraining: accuracy points, or relative RMSE increase
DEFAULT_MAX_PERFORMANCE_DROP = 0.05


@dataclass(frozen=True)
class MonitorResult:
    """The verdict of a window: ``reason`` is "performance", "drift" or None (no retraining)."""

    drift: DriftResult
    prediction: ColumnDrift | None
    performance: dict[str, float] | None
    reason: str | None
    report_uri: str

    def as_dict(self) -> dict[str, Any]:
        """The small JSON result: shares, drifted columns, per-column tests, report URI."""
        out = self.drift.as_dict()
        out.update(
            prediction_drift=None
            if self.prediction is None
            else {
                "method": self.prediction.method,
                "score": self.prediction.score,
                "threshold": self.prediction.threshold,
                "drifted": self.prediction.drifted,
            },
            performance=self.performance,
            reason=self.reason,
            report_uri=self.report_uri,
        )
        return out


def score_of(task: str, predictions: Any, labels: Any) -> float:
    """Accuracy (classification) or RMSE (regression)."""
    import numpy as np

    if task == "classification":
        return float(np.mean(np.asarray(predictions) == np.asarray(labels)))
    diff = np.asarray(predictions, dtype=np.float64) - np.asarray(labels, dtype=np.float64)
    return float(np.sqrt(np.mean(diff**2)))


def streamed_score(source: Source, task: str, label: str) -> tuple[float, int] | None:
    """Accuracy or RMSE of ``prediction`` against ``label`` over the labelled rows; None when no
    row has a label."""
    import numpy as np

    hits = squares = 0.0
    rows = 0
    for chunk in source([PREDICTION, label]):
        labelled = chunk[chunk[label].notna()]
        if labelled.empty:
            continue
        rows += len(labelled)
        if task == "classification":
            hits += float((labelled[PREDICTION].to_numpy() == labelled[label].to_numpy()).sum())
        else:
            diff = labelled[PREDICTION].to_numpy(np.float64) - labelled[label].to_numpy(np.float64)
            squares += float((diff**2).sum())
    if rows == 0:
        return None
    return (hits / rows if task == "classification" else float(np.sqrt(squares / rows))), rows


def has_column(files: Sequence[Path], column: str) -> bool:
    """Whether every Parquet file has ``column`` (labels are joined to the log later)."""
    import pyarrow.parquet as pq

    return all(column in pq.ParquetFile(f).schema_arrow.names for f in files)


def performance_drop(reference: float, current: float, task: str) -> float:
    """How much worse ``current`` is: accuracy points lost, or relative RMSE increase."""
    if task == "classification":
        return reference - current
    return (current - reference) / reference if reference else float(current > 0)


def sample_files(
    files: Sequence[Path], columns: list[str], rows: int, total: int, seed: int
) -> pd.DataFrame:
    """About ``rows`` rows drawn uniformly from Parquet ``files`` of ``total`` rows, streamed."""
    import pandas as pd

    fraction = min(1.0, rows / max(total, 1))
    parts = [
        chunk.sample(frac=fraction, random_state=seed + i) if fraction < 1 else chunk
        for i, chunk in enumerate(parquet_source(files)(columns))
    ]
    return pd.concat(parts, ignore_index=True)


def monitor_window(
    reference: pd.DataFrame,
    current_files: Sequence[Path],
    *,
    numerical_columns: Sequence[str],
    categorical_columns: Sequence[str] = (),
    report_path: str | Path,
    config: DriftConfig | None = None,
    task: str = "classification",
    label: str | None = None,
    max_performance_drop: float = DEFAULT_MAX_PERFORMANCE_DROP,
    report_rows: int = REPORT_SAMPLE_ROWS,
) -> MonitorResult:
    """Measure drift of the inference-log files against ``reference`` and decide.

    :param reference: the reference rows (the champion's training data), with a ``prediction``
        column for prediction drift and ``label`` for performance drift.
    :param current_files: the window's inference-log files.
    :param label: the label column; performance drift is measured when the log has labelled
        rows (ground truth joined later) and ``reference`` has the label and predictions.
    :param max_performance_drop: accuracy points lost (or relative RMSE increase) that trigger
        retraining with reason "performance".
    :raises DriftError: missing columns, an empty window or an empty column.
    """
    if task not in ("classification", "regression"):
        raise ConfigError(f"task={task!r} is not 'classification' or 'regression'.")
    config = config or DriftConfig()
    current = parquet_source(current_files)
    drift = compute_drift(
        frame_source(reference),
        current,
        numerical_columns=numerical_columns,
        categorical_columns=categorical_columns,
        config=config,
    )
    prediction = None
    if PREDICTION in reference.columns:
        typed = {"numerical_columns": [], "categorical_columns": [PREDICTION]}
        if task == "regression":
            typed = {"numerical_columns": [PREDICTION], "categorical_columns": []}
        prediction = compute_drift(
            frame_source(reference[[PREDICTION]]), current, config=config, **typed
        ).columns[0]
    performance = None
    if label and {label, PREDICTION} <= set(reference.columns) and has_column(current_files, label):
        measured = streamed_score(current, task, label)
        if measured is not None:
            before = score_of(task, reference[PREDICTION], reference[label])
            drop = performance_drop(before, measured[0], task)
            performance = {
                "metric": "accuracy" if task == "classification" else "rmse",
                "reference": before,
                "current": measured[0],
                "labelled_rows": measured[1],
                "drop": drop,
                "max_drop": max_performance_drop,
            }
    reason = None
    if performance is not None and performance["drop"] > max_performance_drop:
        reason = "performance"
    elif drift.dataset_drift or (prediction is not None and prediction.drifted):
        reason = "drift"
    columns = [*numerical_columns, *categorical_columns]
    report = save_html_report(
        reference.sample(n=min(report_rows, len(reference)), random_state=0),
        sample_files(current_files, columns, report_rows, drift.current_rows, seed=0),
        report_path,
        numerical_columns=numerical_columns,
        categorical_columns=categorical_columns,
        config=config,
        max_rows=report_rows,
    )
    return MonitorResult(drift, prediction, performance, reason, str(report.resolve()))


def monitor_model(
    predictor: OnnxPredictor,
    reference: pd.DataFrame,
    current_files: Sequence[Path],
    *,
    report_path: str | Path,
    config: DriftConfig | None = None,
    label: str | None = None,
    max_performance_drop: float = DEFAULT_MAX_PERFORMANCE_DROP,
) -> MonitorResult:
    """:func:`monitor_window` for a model: its feature columns, task and label, and its
    predictions on ``reference`` (:func:`~airflow_mlops.monitoring.reference.with_predictions`).

    :param label: the label column; default the model's.
    :raises DriftError: the reference lacks the model's columns, the window is empty.
    """
    return monitor_window(
        with_predictions(reference, predictor),
        current_files,
        numerical_columns=predictor.numeric_columns,
        categorical_columns=predictor.categorical_columns,
        report_path=report_path,
        config=config,
        task=predictor.task,
        label=label or predictor.label,
        max_performance_drop=max_performance_drop,
    )
