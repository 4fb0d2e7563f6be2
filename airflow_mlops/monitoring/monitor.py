"""One monitoring run: data drift (per column, and of the columns together), prediction drift and
performance of a window of the inference log against a reference, plus Evidently's HTML
report, and the retraining verdict. Each result says what each of its tests can see
(:data:`WHAT_EACH_TEST_SEES`)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from airflow_mlops.errors import ConfigError
from airflow_mlops.monitoring.drift_types import ColumnDrift, DriftConfig, DriftResult
from airflow_mlops.monitoring.evidently_report import REPORT_SAMPLE_ROWS, save_html_report
from airflow_mlops.monitoring.multivariate import (
    REFERENCE_CHUNKS,
    MultivariateDrift,
    multivariate_drift,
)
from airflow_mlops.monitoring.performance import (
    Baseline,
    live_performance,
    model_baseline,
    score_of,
)
from airflow_mlops.monitoring.reference import with_predictions
from airflow_mlops.monitoring.scalable import compute_drift
from airflow_mlops.monitoring.scoring import PREDICTION
from airflow_mlops.monitoring.sources import frame_source, parquet_source

if TYPE_CHECKING:
    import pandas as pd

    from airflow_mlops.data.holdout import SplitRule
    from airflow_mlops.export.runtime import OnnxPredictor

#: performance drop that triggers retraining: accuracy points, or relative RMSE increase
DEFAULT_MAX_PERFORMANCE_DROP = 0.05

#: what each test of a monitoring run can and cannot see (in every result, for its readers)
WHAT_EACH_TEST_SEES = {
    "column_drift": "a change in one column's own distribution (shift, spread, shape, new "
    "categories); blind to a change in how columns move together",
    "multivariate_drift": "a change in how the numerical columns move together (their "
    "correlations), even when every column's own distribution is unchanged; does not say which "
    "column, and does not look at categorical columns",
    "prediction_drift": "a change in the distribution of the model's outputs; blind to input "
    "changes the model ignores",
    "performance": "measured: the model's metric on rows whose labels arrived, against its "
    "holdout, which sees every kind of change including a changed relation between inputs and "
    "label; estimated (CBPE, before labels arrive): the metric the model's calibrated "
    "confidence expects, which sees input changes that move the model into less certain "
    "regions but not a changed relation between inputs and label",
}


@dataclass(frozen=True)
class MonitorResult:
    """The verdict of a window: ``reason`` is "performance", "drift" or None (no retraining)."""

    drift: DriftResult
    prediction: ColumnDrift | None
    performance: dict[str, float] | None
    reason: str | None
    report_uri: str
    multivariate: MultivariateDrift | None = None

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
            multivariate_drift=None if self.multivariate is None else self.multivariate.as_dict(),
            performance=self.performance,
            reason=self.reason,
            report_uri=self.report_uri,
            sees=WHAT_EACH_TEST_SEES,
        )
        return out


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
    baseline: Baseline | None = None,
    labels: pd.Series | None = None,
) -> MonitorResult:
    """Measure drift of the inference-log files against ``reference`` and decide.

    :param reference: the reference rows (the champion's training data), with a ``prediction``
        column for prediction drift and ``label`` for performance drift.
    :param current_files: the window's inference-log files.
    :param label: the label column; performance is measured on the labelled rows of the log
        (``labels`` joined on ``prediction_id``, or the log's own ``label`` column).
    :param max_performance_drop: accuracy points lost (or relative RMSE increase) that trigger
        retraining with reason "performance".
    :param baseline: the model's metric to compare with (its holdout,
        :func:`~airflow_mlops.monitoring.performance.model_baseline`); default: its predictions
        on ``reference`` against ``label`` there.
    :param labels: labels that arrived later, by ``prediction_id``
        (:func:`~airflow_mlops.monitoring.performance.read_labels`).
    :raises DriftError: missing columns, an empty window or an empty column.
    :raises DataError: labels whose ids the window never predicted.
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
    if baseline is None and label and {label, PREDICTION} <= set(reference.columns):
        metric = "accuracy" if task == "classification" else "rmse"
        value = score_of(task, reference[PREDICTION], reference[label])
        baseline = Baseline(metric, value, len(reference), "reference")
    performance = None
    if label and baseline is not None:
        performance = live_performance(
            current,
            current_files,
            task=task,
            label=label,
            baseline=baseline,
            labels=labels,
            max_drop=max_performance_drop,
        )
    multivariate = None
    if config.multivariate:
        multivariate = multivariate_drift(
            frame_source(reference),
            current,
            numerical_columns,
            variance=config.multivariate_variance,
            # the band of means over chunks no larger than the window: its noise at most
            chunk_rows=min(math.ceil(len(reference) / REFERENCE_CHUNKS), drift.current_rows),
        )
    reason = None
    if performance is not None and performance["drop"] > max_performance_drop:
        reason = "performance"
    elif (
        drift.dataset_drift
        or (prediction is not None and prediction.drifted)
        or (multivariate is not None and multivariate.drifted)
    ):
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
    return MonitorResult(
        drift, prediction, performance, reason, str(report.resolve()), multivariate
    )


def monitor_model(
    predictor: OnnxPredictor,
    reference: pd.DataFrame,
    current_files: Sequence[Path],
    *,
    report_path: str | Path,
    config: DriftConfig | None = None,
    label: str | None = None,
    max_performance_drop: float = DEFAULT_MAX_PERFORMANCE_DROP,
    split_rule: SplitRule | None = None,
    labels: pd.Series | None = None,
) -> MonitorResult:
    """:func:`monitor_window` for a model: its feature columns, task and label, its
    predictions on ``reference`` (:func:`~airflow_mlops.monitoring.reference.with_predictions`),
    and its holdout metric as the performance baseline.

    :param reference: the model's training data (its holdout is found there by ``split_rule``).
    :param label: the label column; default the model's.
    :param split_rule: the rule that held the version's holdout out of training
        (:func:`~airflow_mlops.monitoring.performance.version_split_rule`); None: the whole
        reference.
    :param labels: labels that arrived later, by ``prediction_id``.
    :raises DriftError: the reference lacks the model's columns, the window is empty.
    """
    label = label or predictor.label
    return monitor_window(
        with_predictions(reference, predictor),
        current_files,
        numerical_columns=predictor.numeric_columns,
        categorical_columns=predictor.categorical_columns,
        report_path=report_path,
        config=config,
        task=predictor.task,
        label=label,
        max_performance_drop=max_performance_drop,
        baseline=model_baseline(reference, predictor, label, split_rule),
        labels=labels,
    )
