"""Live performance: late labels joined on prediction ids, the holdout baseline, CBPE."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from airflow_mlops.data.holdout import SplitRule, split_mask
from airflow_mlops.errors import DataError, DriftError
from airflow_mlops.export.runtime import OnnxPredictor
from airflow_mlops.lineage import PARAMS_TAG, SPLIT_RULE_TAG
from airflow_mlops.monitoring.monitor import monitor_window
from airflow_mlops.monitoring.performance import (
    Baseline,
    check_label_ids,
    fit_calibration,
    model_baseline,
    read_labels,
    version_split_rule,
)
from airflow_mlops.monitoring.scoring import PREDICTION, PREDICTION_ID, score_dataset
from airflow_mlops.monitoring.sources import parquet_source, write_parquet

LABEL = "malignant"


@pytest.fixture(scope="module")
def predictor(onnx_classifier: Path) -> OnnxPredictor:
    return OnnxPredictor.load(onnx_classifier)


def scored_log(tmp_path: Path, predictor: OnnxPredictor, frame: pd.DataFrame) -> list[Path]:
    """The inference log of ``frame`` as batch scoring writes it (ids, confidence)."""
    batch = write_parquet([frame.drop(columns=[LABEL])], tmp_path / "batch.parquet")
    result = score_dataset(
        predictor,
        batch,
        predictions_path=tmp_path / "predictions.parquet",
        log_root=tmp_path / "log",
        model="m",
        model_version="1",
        run="run",
        scored_at=dt.datetime(2026, 1, 2, tzinfo=dt.UTC),
    )
    return [Path(result.inference_log_uri)]


def write_labels(tmp_path: Path, ids: list[str], labels: list[object], name="labels.csv") -> Path:
    path = tmp_path / name
    pd.DataFrame({PREDICTION_ID: ids, LABEL: labels}).to_csv(path, index=False)
    return path


def test_isotonic_calibration_pools_violators_and_estimates_accuracy() -> None:
    calibration = fit_calibration(np.array([0.6, 0.7, 0.8, 0.9]), np.array([1, 0, 1, 1]))
    np.testing.assert_allclose(calibration(np.array([0.6, 0.7, 0.8, 0.9])), [0.5, 0.5, 1, 1])
    # a model whose scores are too confident: calibrated scores give its true accuracy
    rng = np.random.default_rng(0)
    scores = rng.uniform(0.5, 1.0, 20_000)
    correct = rng.uniform(size=20_000) < (scores - 0.2)
    fitted = fit_calibration(scores[:10_000], correct[:10_000])
    estimate = fitted(scores[10_000:]).mean()
    # the accuracy the model is expected to have there (binomial noise aside)
    assert estimate == pytest.approx((scores[10_000:] - 0.2).mean(), abs=0.01)
    assert scores[10_000:].mean() - estimate > 0.15  # the raw scores would overstate it


def test_labels_are_read_by_id_and_rows_without_a_label_wait(tmp_path) -> None:
    path = write_labels(tmp_path, ["a", "b", "c"], [1, None, 0])
    labels = read_labels(path, label=LABEL, task="classification", classes=[0, 1])
    assert labels.to_dict() == {"a": 1, "c": 0}


@pytest.mark.parametrize(
    ("ids", "labels", "task", "message"),
    [
        (["a", "a", "b"], [1, 0, 1], "classification", r"1 ids appear more than once.*\['a'\]"),
        (["a", "b"], [1, "maybe"], "classification", r"not one of the classes \[0, 1\]"),
        (["a", "b"], [1.5, "high"], "regression", "1 labels are not numbers"),
        ([None, "b"], [1, 0], "classification", "1 rows have no 'prediction_id'"),
    ],
)
def test_bad_labels_are_refused_with_what_is_wrong(tmp_path, ids, labels, task, message) -> None:
    path = write_labels(tmp_path, ids, labels)
    with pytest.raises(DataError, match=message):
        read_labels(path, label=LABEL, task=task, classes=[0, 1])


def test_a_labels_file_without_the_columns_is_refused(tmp_path) -> None:
    path = tmp_path / "labels.csv"
    pd.DataFrame({"id": ["a"], LABEL: [1]}).to_csv(path, index=False)
    with pytest.raises(DataError, match=r"lacks columns \['prediction_id'\]"):
        read_labels(path, label=LABEL, task="classification")


def test_labels_of_unknown_ids_are_refused(tmp_path, sample, predictor) -> None:
    files = scored_log(tmp_path, predictor, sample(300, 2))
    labels = pd.Series([1, 0], index=pd.Index(["run-5", "elsewhere-1"], name=PREDICTION_ID))
    with pytest.raises(DataError, match=r"1 of 2 labels.*\['elsewhere-1'\]"):
        check_label_ids(parquet_source(files), labels, files)


def test_a_log_without_prediction_ids_cannot_take_labels(tmp_path, sample) -> None:
    files = [write_parquet([sample(50, 2)], tmp_path / "old.parquet")]
    labels = pd.Series([1], index=pd.Index(["x"], name=PREDICTION_ID))
    with pytest.raises(DriftError, match="no 'prediction_id' column"):
        check_label_ids(parquet_source(files), labels, files)


def test_the_baseline_is_the_models_metric_on_its_holdout(sample, predictor) -> None:
    reference = sample(2_000, 1)
    rule = SplitRule(fraction=0.25)
    baseline = model_baseline(reference, predictor, LABEL, rule)
    holdout = reference[split_mask(reference, rule)]
    expected = float(np.mean(predictor.predict(holdout) == holdout[LABEL].to_numpy()))
    assert (baseline.basis, baseline.rows) == ("holdout", len(holdout))
    assert baseline.value == pytest.approx(expected)
    everything = model_baseline(reference, predictor, LABEL, None)
    assert (everything.basis, everything.rows) == ("reference", 2_000)


def test_the_split_rule_comes_from_the_gate_tag_else_the_training_params() -> None:
    rule = SplitRule(fraction=0.3, id_column="row_id", salt="s")
    assert version_split_rule({SPLIT_RULE_TAG: rule.to_lineage()}) == rule
    # a gate given its holdout as a table writes a sentence: the training params decide
    given = {SPLIT_RULE_TAG: "given: the whole table is the holdout"}
    params = {PARAMS_TAG: '{"holdout_fraction": 0.25, "id_column": "k"}'}
    assert version_split_rule({**given, **params}) == SplitRule(fraction=0.25, id_column="k")
    assert version_split_rule(given) is None and version_split_rule({}) is None


def test_late_labels_measure_the_drop_and_cbpe_estimates_beside_it(
    tmp_path, sample, predictor
) -> None:
    reference, current = sample(3_000, 1), sample(2_000, 2)
    files = scored_log(tmp_path, predictor, current)
    baseline = model_baseline(reference, predictor, LABEL, SplitRule())
    logged = pd.read_parquet(files[0])
    # ground truth for half the rows, and the model is wrong on every one of them
    half = logged.iloc[::2]
    wrong = 1 - half[PREDICTION].to_numpy()
    labels = read_labels(
        write_labels(tmp_path, half[PREDICTION_ID].tolist(), wrong.tolist()),
        label=LABEL,
        task="classification",
        classes=[0, 1],
    )

    def run(labels: pd.Series | None, name: str):
        return monitor_window(
            reference,
            files,
            numerical_columns=predictor.numeric_columns,
            categorical_columns=predictor.categorical_columns,
            report_path=tmp_path / f"{name}.html",
            label=LABEL,
            baseline=baseline,
            labels=labels,
        )

    measured = run(labels, "measured")
    performance = measured.performance
    assert measured.reason == "performance"
    assert (performance["basis"], performance["labelled_rows"]) == ("measured", 1_000)
    assert performance["measured"] == 0.0 and performance["current"] == 0.0
    assert performance["drop"] == pytest.approx(baseline.value)
    assert performance["baseline"] == {
        "metric": "accuracy",
        "value": baseline.value,
        "rows": baseline.rows,
        "basis": "holdout",
    }
    # the estimate from the calibrated confidence, reported beside the measured value
    assert 0 < performance["estimated"] <= 1

    # before any label arrives: the estimate is all there is (same data, same model: no drop)
    estimated = run(None, "estimated").performance
    assert (estimated["basis"], estimated["measured"], estimated["labelled_rows"]) == (
        "estimated",
        None,
        0,
    )
    assert estimated["current"] == estimated["estimated"] == performance["estimated"]
    assert estimated["drop"] < 0.05


def test_a_log_without_confidence_has_no_estimate(tmp_path, sample, predictor) -> None:
    reference, current = sample(500, 1), sample(300, 2)
    current[PREDICTION] = predictor.predict(current)
    files = [write_parquet([current], tmp_path / "old.parquet")]
    baseline = Baseline("accuracy", 0.9, 100, "holdout")
    result = monitor_window(
        reference,
        files,
        numerical_columns=predictor.numeric_columns,
        categorical_columns=predictor.categorical_columns,
        report_path=tmp_path / "r.html",
        label=LABEL,
        baseline=baseline,
    )
    # the old log carries the label itself: measured, no estimate
    assert result.performance["basis"] == "measured"
    assert result.performance["estimated"] is None
