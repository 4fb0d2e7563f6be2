"""A monitoring run: data, prediction and performance drift, the verdict and the report."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from airflow_mlops.errors import DriftError
from airflow_mlops.export.runtime import OnnxPredictor
from airflow_mlops.monitoring.drift_types import DriftConfig
from airflow_mlops.monitoring.monitor import monitor_window
from airflow_mlops.monitoring.scoring import PREDICTION
from airflow_mlops.monitoring.sources import write_parquet

SHIFT = {"mean_radius": 2.0, "worst_area": 2.0, "mean_texture": 2.0, "worst_radius": 2.0}


def scored(predictor, frame):
    return frame.assign(**{PREDICTION: predictor.predict(frame)})


def run(tmp_path, predictor, reference, current, **kwargs):
    files = [write_parquet([current], tmp_path / "log" / "part-1.parquet")]
    return monitor_window(
        reference,
        files,
        numerical_columns=predictor.numeric_columns,
        categorical_columns=predictor.categorical_columns,
        report_path=tmp_path / "report.html",
        label="malignant",
        **kwargs,
    )


@pytest.fixture(scope="module")
def predictor(onnx_classifier: Path) -> OnnxPredictor:
    return OnnxPredictor.load(onnx_classifier)


def test_no_drift_no_reason(tmp_path, sample, predictor):
    result = run(
        tmp_path,
        predictor,
        scored(predictor, sample(3_000, 1)),
        scored(predictor, sample(3_000, 2)),
    )
    out = result.as_dict()
    assert out["reason"] is None and not out["dataset_drift"]
    assert out["prediction_drift"]["method"] == "jensenshannon"
    assert out["performance"]["labelled_rows"] == 3_000
    assert Path(out["report_uri"]).read_text().lstrip().lower().startswith("<!doctype html")


def test_injected_drift_asks_for_retraining(tmp_path, sample, predictor):
    current = scored(predictor, sample(3_000, 2, shift=SHIFT))
    result = run(
        tmp_path,
        predictor,
        scored(predictor, sample(3_000, 1)),
        current,
        config=DriftConfig(drift_share=0.1),
        max_performance_drop=1.0,
    )
    assert result.reason == "drift"
    assert set(SHIFT) <= set(result.drift.drifted_columns)


def test_performance_drop_wins_over_drift(tmp_path, sample, predictor):
    reference = scored(predictor, sample(3_000, 1))
    reference["malignant"] = reference[PREDICTION]  # the model was right on its reference
    current = scored(predictor, sample(3_000, 2))
    current["malignant"] = np.where(
        np.arange(3_000) % 4 == 0, 1 - current[PREDICTION], current[PREDICTION]
    )
    current.loc[current.index[:1_000], "malignant"] = np.nan  # ground truth not back yet
    result = run(tmp_path, predictor, reference, current, max_performance_drop=0.1)
    assert result.reason == "performance"
    assert result.performance["labelled_rows"] == 2_000
    assert result.performance["drop"] == pytest.approx(1 - result.performance["current"])


def test_missing_column_in_the_log(tmp_path, sample, predictor):
    current = scored(predictor, sample(500, 2)).drop(columns=["clinic"])
    with pytest.raises(DriftError, match=r"lacks columns \['clinic'\]"):
        run(tmp_path, predictor, scored(predictor, sample(500, 1)), current)
