"""Gate config validation and the comparison rules, on hand-made evaluations (no MLflow)."""

from __future__ import annotations

import numpy as np
import pytest

from airflow_mlops.errors import ConfigError
from airflow_mlops.model_registry.gate import Evaluation, Gate, GateConfig, score_metrics
from airflow_mlops.model_registry.significance import compare_on_rows


def paired(better: int, worse: int, rows: int = 200, both_wrong: int = 10) -> dict:
    """Two classifiers on ``rows`` rows: ``better`` rows only the challenger gets right,
    ``worse`` rows only the champion, ``both_wrong`` rows neither, the rest both."""
    truth = np.zeros(rows, dtype=int)
    challenger_right = np.ones(rows, dtype=bool)
    champion_right = np.ones(rows, dtype=bool)
    challenger_right[:worse] = False
    champion_right[worse : worse + better] = False
    wrong = slice(worse + better, worse + better + both_wrong)
    challenger_right[wrong] = champion_right[wrong] = False

    def scores(right):
        return np.eye(2)[np.where(right, truth, 1 - truth)]

    return compare_on_rows(
        "accuracy",
        1,
        truth,
        scores(challenger_right),
        scores(champion_right),
        [0, 1],
        resamples=500,
    )


def evaluation(version, accuracy, slices=None, latency=0.1, log_loss=0.2, comparison=None):
    return Evaluation(
        version=version,
        task="classification",
        rows=100,
        metrics={"accuracy": accuracy, "log_loss": log_loss},
        slices={k: {"rows": n, "accuracy": a} for k, (n, a) in (slices or {}).items()},
        latency_p50_ms=latency,
        paired=comparison,
    )


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"metric": "acc"}, "metric='acc'"),
        ({"thresholds": {"precision": 0.9}}, "unknown metric 'precision'"),
        ({"thresholds": {"accuracy": float("nan")}}, "not a finite number"),
        ({"slice_tolerance": -0.1}, "slice_tolerance=-0.1"),
        ({"min_slice_rows": 0}, "min_slice_rows=0"),
        ({"max_latency_ms": 0}, "max_latency_ms=0"),
        ({"min_improvment": 0.1}, "Unknown gate config keys"),
        ({"confidence": 1.0}, "confidence=1.0"),
        ({"tolerance": -0.01}, "tolerance=-0.01"),
        ({"resamples": 10}, "resamples=10"),
        ({"min_holdout_rows": 1}, "min_holdout_rows=1"),
    ],
)
def test_invalid_config_is_refused_with_the_bad_value(values, message):
    with pytest.raises(ConfigError, match=message):
        GateConfig.from_dict(values)


def test_first_model_needs_only_the_thresholds():
    gate = Gate(GateConfig(thresholds={"accuracy": 0.9, "log_loss": 0.3}))
    assert gate.compare(evaluation("1", 0.95), None).accepted
    rejected = gate.compare(evaluation("1", 0.95, log_loss=0.5), None)
    assert not rejected.accepted
    assert rejected.reasons == ["failed threshold log_loss: 0.5 (limit 0.3)"]


def test_clearly_better_challenger_is_promoted_with_the_numbers():
    gate = Gate(GateConfig(slice_column=None))
    decision = gate.compare(evaluation("2", 0.93, comparison=paired(30, 2)), evaluation("1", 0.8))
    assert decision.accepted
    assert decision.reasons[0].startswith("better than champion v1 beyond noise: accuracy ")
    assert "on the same 200 holdout rows" in decision.reasons[0]
    assert "95% interval [+" in decision.reasons[0] and "McNemar 30 rows" in decision.reasons[0]


def test_identical_models_are_not_promoted():
    comparison = paired(0, 0)
    assert comparison["improvement"] == {"value": 0.0, "low": 0.0, "high": 0.0}
    decision = Gate(GateConfig(slice_column=None)).compare(
        evaluation("2", 0.95, comparison=comparison), evaluation("1", 0.95)
    )
    assert not decision.accepted
    assert "not better than champion v1 beyond noise" in decision.reasons[0]
    assert "set tolerance to allow not-worse refreshes" in decision.reasons[0]


def test_a_difference_within_noise_needs_a_tolerance_and_a_large_drop_is_refused():
    slightly = evaluation("2", 0.91, comparison=paired(4, 2))
    champion = evaluation("1", 0.90)
    assert not Gate(GateConfig(slice_column=None)).compare(slightly, champion).accepted
    tolerant = Gate(GateConfig(slice_column=None, tolerance=0.05))
    decision = tolerant.compare(slightly, champion)
    assert decision.accepted
    assert decision.reasons[0].startswith("not worse than champion v1 within tolerance 0.05")
    worse = tolerant.compare(evaluation("2", 0.8, comparison=paired(2, 30)), champion)
    assert not worse.accepted and "or reach -0.05" in worse.reasons[0]


def test_minimum_improvement_applies_to_the_lower_bound():
    comparison = paired(30, 2)  # +0.14, lower bound about +0.09
    strict = Gate(GateConfig(slice_column=None, min_improvement=0.12))
    decision = strict.compare(evaluation("2", 0.93, comparison=comparison), evaluation("1", 0.8))
    assert not decision.accepted
    assert decision.checks[0]["value"] < 0.12 < comparison["improvement"]["value"]


def test_without_a_paired_comparison_the_champion_stays():
    decision = Gate(GateConfig(slice_column=None)).compare(
        evaluation("2", 0.99), evaluation("1", 0.5)
    )
    assert not decision.accepted
    assert "not measured" in decision.reasons[0]


def test_slice_regression_beyond_tolerance_rejects_small_slices_are_not_judged():
    gate = Gate(GateConfig(slice_tolerance=0.05, min_slice_rows=10))
    champion = evaluation("1", 0.90, {"north": (60, 0.9), "west": (30, 0.9), "tiny": (3, 1.0)})
    better = evaluation(
        "2",
        0.95,
        {"north": (60, 0.99), "west": (30, 0.8), "tiny": (3, 0.0)},
        comparison=paired(30, 2),
    )
    decision = gate.compare(better, champion)
    assert not decision.accepted
    assert decision.reasons == ["failed slice 'west': accuracy drop vs champion: 0.1 (limit 0.05)"]
    assert not any("tiny" in check["check"] for check in decision.checks)


def test_latency_budget():
    gate = Gate(GateConfig(max_latency_ms=1.0))
    assert not gate.compare(evaluation("1", 0.9, latency=2.0), None).accepted
    assert gate.compare(evaluation("1", 0.9, latency=0.5), None).accepted


def test_score_metrics_classification_and_regression():
    import numpy as np

    scores = np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4], [0.3, 0.7]], dtype=np.float32)
    result = score_metrics("classification", np.array([0, 1, 1, 1]), scores, [0, 1])
    assert result["accuracy"] == 0.75 and result["roc_auc"] == 1.0
    regression = score_metrics("regression", np.array([1.0, 2.0]), np.array([[1.0], [4.0]]), [])
    assert regression["rmse"] == pytest.approx(2**0.5) and regression["mae"] == 1.0


def test_shadow_gates_by_default_when_the_log_holds_enough_rows():
    champion = Evaluation("1", "classification", 100, {"accuracy": 0.90})

    def challenger(rows: int | None) -> Evaluation:
        shadow = {"rows": rows, "agreement": 0.7, "mean_abs_diff": 0.2, "score_shift": 0.35}
        return Evaluation(
            "2",
            "classification",
            100,
            {"accuracy": 0.95},
            shadow=None if rows is None else shadow | {"source": "today"},
            paired=paired(30, 2),
        )

    decision = Gate(GateConfig()).compare(challenger(500), champion)
    assert not decision.accepted
    assert decision.reasons == [
        "failed agreement with the champion on 500 recent rows: 0.7 (limit 0.9)",
        "failed score distribution shift vs the champion on 500 recent rows (KS): 0.35 (limit 0.2)",
    ]
    few = Gate(GateConfig()).compare(challenger(99), champion)
    assert few.accepted
    assert "not judged: 99 recent rows in the inference log" in few.reasons[-2]
    assert Gate(GateConfig()).compare(challenger(None), champion).accepted
    off = GateConfig(min_shadow_agreement=None, max_shadow_shift=None)
    assert Gate(off).compare(challenger(500), champion).accepted


@pytest.mark.parametrize("value", [-0.1, 1.5, float("nan"), "high"])
def test_shadow_limits_must_be_shares(value):
    with pytest.raises(ConfigError, match="min_shadow_agreement"):
        GateConfig(min_shadow_agreement=value)
    with pytest.raises(ConfigError, match="max_shadow_shift"):
        GateConfig(max_shadow_shift=value)
