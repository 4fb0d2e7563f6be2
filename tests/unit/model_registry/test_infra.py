"""The infra checks join the gate decision: promotion needs both blessings."""

from __future__ import annotations

import pytest

from airflow_mlops.errors import ConfigError
from airflow_mlops.model_registry.gate import GateConfig, GateDecision
from airflow_mlops.model_registry.infra import with_infra


def row(name: str, value: float, limit: float, passed: bool) -> dict:
    return {"check": name, "value": value, "limit": limit, "passed": passed}


def test_promotion_needs_both_blessings():
    accepted = GateDecision(True, ["passes every check"], [])
    slow = row("serving p99 latency at batch 1 (ms)", 9.0, 5.0, False)
    blocked = with_infra(accepted, [row("parity", 0.0, 1e-5, True), slow])
    assert not blocked.accepted
    assert blocked.reasons == ["failed serving p99 latency at batch 1 (ms): 9.0 (limit 5.0)"]
    assert with_infra(accepted, [row("parity", 0.0, 1e-5, True)]) == GateDecision(
        True, ["passes every check"], [row("parity", 0.0, 1e-5, True)]
    )
    rejected = GateDecision(False, ["failed threshold accuracy"], [])
    assert with_infra(rejected, [slow]).reasons == ["failed threshold accuracy"]


@pytest.mark.parametrize("field", ["max_serving_p99_ms", "min_serving_rows_per_s", "serving_batch"])
def test_serving_budget_is_checked(field):
    with pytest.raises(ConfigError, match=field):
        GateConfig(**{field: 0})
