"""The paired statistics of the gate, against known cases."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn import metrics

from airflow_mlops.errors import DataError
from airflow_mlops.model_registry.significance import (
    compare_on_rows,
    mcnemar,
    paired_bootstrap,
)


def probabilities(rng: np.random.Generator, truth: np.ndarray, skill: float) -> np.ndarray:
    """Binary class probabilities that lean towards the truth by ``skill``."""
    p = np.clip(0.5 + skill * (2 * truth - 1) + rng.normal(scale=0.25, size=len(truth)), 0, 1)
    return np.stack([1 - p, p], axis=1)


@pytest.fixture
def rows():
    rng = np.random.default_rng(7)
    truth = rng.integers(0, 2, size=300)
    return truth, probabilities(rng, truth, 0.3), probabilities(rng, truth, 0.05)


def test_mcnemar_on_a_constructed_table():
    # 10 rows only the challenger gets right, 2 only the champion, 50 both
    challenger = np.array([True] * 10 + [False] * 2 + [True] * 50)
    champion = np.array([False] * 10 + [True] * 2 + [True] * 50)
    result = mcnemar(challenger, champion)
    assert (result.better, result.worse) == (10, 2)
    assert result.p_value == pytest.approx(2 * (1 + 12 + 66) / 4096)
    assert result.mid_p_value == pytest.approx(2 * (1 + 12 + 66) / 4096 - 66 / 4096)
    assert mcnemar(champion, champion).p_value == 1.0


@pytest.mark.parametrize("metric", ["accuracy", "log_loss", "f1", "roc_auc"])
def test_identical_models_give_an_interval_of_zero(rows, metric):
    truth, good, _ = rows
    result = paired_bootstrap(metric, 1, truth, good, good, [0, 1], resamples=300)
    assert result.difference.value == result.difference.low == result.difference.high == 0
    assert result.challenger == result.champion


@pytest.mark.parametrize(
    ("metric", "direction", "reference"),
    [
        ("accuracy", 1, lambda y, p: metrics.accuracy_score(y, p.argmax(axis=1))),
        ("log_loss", -1, lambda y, p: metrics.log_loss(y, p)),
        ("f1", 1, lambda y, p: metrics.f1_score(y, p.argmax(axis=1))),
        ("roc_auc", 1, lambda y, p: metrics.roc_auc_score(y, p[:, 1])),
    ],
)
def test_a_clearly_better_model_has_an_interval_above_zero(rows, metric, direction, reference):
    truth, good, poor = rows
    result = paired_bootstrap(metric, direction, truth, good, poor, [0, 1], resamples=500)
    assert result.challenger.value == pytest.approx(reference(truth, good))
    assert result.champion.value == pytest.approx(reference(truth, poor))
    assert result.challenger.low <= result.challenger.value <= result.challenger.high
    assert result.improvement.low > 0
    assert result.difference.value == pytest.approx(direction * result.improvement.value)


def test_regression_metrics_flip_for_lower_is_better():
    rng = np.random.default_rng(3)
    truth = rng.normal(size=400)
    close = (truth + rng.normal(scale=0.2, size=400))[:, None]
    far = (truth + rng.normal(scale=0.6, size=400))[:, None]
    rmse = paired_bootstrap("rmse", -1, truth, close, far, resamples=400)
    assert rmse.difference.high < 0 < rmse.improvement.low
    assert rmse.challenger.value == pytest.approx(np.sqrt(np.mean((close[:, 0] - truth) ** 2)))
    r2 = paired_bootstrap("r2", 1, truth, close, far, resamples=400)
    assert r2.challenger.value == pytest.approx(metrics.r2_score(truth, close[:, 0]))
    mae = paired_bootstrap("mae", -1, truth, close, far, resamples=400)
    assert mae.improvement.low > 0


def test_the_interval_is_seeded_and_narrows_with_more_rows(rows):
    truth, good, poor = rows
    first = paired_bootstrap("accuracy", 1, truth, good, poor, [0, 1], resamples=400)
    assert first == paired_bootstrap("accuracy", 1, truth, good, poor, [0, 1], resamples=400)
    few = paired_bootstrap("accuracy", 1, truth[:60], good[:60], poor[:60], [0, 1])
    width = few.difference.high - few.difference.low
    assert width > first.difference.high - first.difference.low


def test_compare_on_rows_adds_mcnemar_and_slices(rows):
    truth, good, poor = rows
    slices = np.array(["north"] * 150 + ["south"] * 145 + ["tiny"] * 5)
    result = compare_on_rows(
        "accuracy", 1, truth, good, poor, [0, 1], resamples=300, slices=slices, min_slice_rows=10
    )
    assert result["mcnemar"]["better"] > result["mcnemar"]["worse"]
    assert set(result["slices"]) == {"north", "south"}
    assert result["slices"]["north"]["rows"] == 150
    assert (
        compare_on_rows("log_loss", -1, truth, good, poor, [0, 1], resamples=200)["mcnemar"] is None
    )


def test_one_row_is_not_enough():
    with pytest.raises(DataError, match="at least 2 rows"):
        paired_bootstrap("accuracy", 1, np.array([1]), np.eye(2)[[1]], np.eye(2)[[0]], [0, 1])
