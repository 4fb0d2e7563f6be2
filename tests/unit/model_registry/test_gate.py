"""Gate config validation and the comparison rules, on hand-made evaluations (no MLflow)."""

from __future__ import annotations

import pytest

from airflow_mlops.errors import ConfigError
from airflow_mlops.model_registry.gate import Evaluation, Gate, GateConfig, score_metrics


def evaluation(version, accuracy, slices=None, latency=0.1, log_loss=0.2):
    return Evaluation(
        version=version,
        task="classification",
        rows=100,
        metrics={"accuracy": accuracy, "log_loss": log_loss},
        slices={k: {"rows": n, "accuracy": a} for k, (n, a) in (slices or {}).items()},
        latency_p50_ms=latency,
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


def test_minimum_improvement_over_champion():
    gate = Gate(GateConfig(min_improvement=0.02, slice_column=None))
    champion = evaluation("1", 0.90)
    assert gate.compare(evaluation("2", 0.93), champion).accepted
    decision = gate.compare(evaluation("2", 0.91), champion)
    assert (
        not decision.accepted and "improvement in accuracy over champion v1" in decision.reasons[0]
    )
    tolerant = Gate(GateConfig(min_improvement=-0.02, slice_column=None))
    assert tolerant.compare(evaluation("2", 0.89), champion).accepted


def test_slice_regression_beyond_tolerance_rejects_small_slices_are_not_judged():
    gate = Gate(GateConfig(slice_tolerance=0.05, min_slice_rows=10))
    champion = evaluation("1", 0.90, {"north": (60, 0.9), "west": (30, 0.9), "tiny": (3, 1.0)})
    better = evaluation("2", 0.95, {"north": (60, 0.99), "west": (30, 0.8), "tiny": (3, 0.0)})
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


def test_shadow_agreement_is_judged_only_when_a_minimum_is_set():
    champion = Evaluation("1", "classification", 100, {"accuracy": 0.90})
    shadow = {"rows": 500, "agreement": 0.7, "mean_abs_diff": 0.2, "source": "today"}
    challenger = Evaluation("2", "classification", 100, {"accuracy": 0.95}, shadow=shadow)

    assert Gate(GateConfig(slice_column=None)).compare(challenger, champion).accepted
    strict = Gate(GateConfig(slice_column=None, min_shadow_agreement=0.8))
    decision = strict.compare(challenger, champion)
    assert not decision.accepted
    assert decision.reasons == [
        "failed agreement with the champion on 500 recent rows: 0.7 (limit 0.8)"
    ]
    no_traffic = Evaluation("2", "classification", 100, {"accuracy": 0.95})
    assert strict.compare(no_traffic, champion).accepted


@pytest.mark.parametrize("value", [-0.1, 1.5, float("nan"), "high"])
def test_min_shadow_agreement_must_be_a_share(value):
    with pytest.raises(ConfigError, match="min_shadow_agreement"):
        GateConfig(min_shadow_agreement=value)
