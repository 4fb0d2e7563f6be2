"""The drift history's metrics: one per figure of the monitoring result, names safe for MLflow."""

from __future__ import annotations

from airflow_mlops.monitoring.history import drift_metrics


def test_drift_metrics_flatten_the_result() -> None:
    result = {
        "drift_share": 0.5,
        "drifted_columns": ["a"],
        "current_rows": 200,
        "tests": {"a": {"score": 0.01, "drifted": True}, "b c": {"score": 0.4, "drifted": False}},
        "prediction_drift": {"score": 0.2},
        "performance": {"current": 0.9, "drop": 0.03},
    }
    assert drift_metrics(result) == {
        "drift_share": 0.5,
        "drifted_columns": 1.0,
        "current_rows": 200.0,
        "drift.a": 0.01,
        "drift.b_c": 0.4,
        "drifted.a": 1.0,
        "drifted.b_c": 0.0,
        "prediction_drift": 0.2,
        "performance_current": 0.9,
        "performance_drop": 0.03,
    }
    quiet = {**result, "prediction_drift": None, "performance": None, "tests": {}}
    assert set(drift_metrics(quiet)) == {"drift_share", "drifted_columns", "current_rows"}
