"""Automatic runs' training outranks manual runs' (run ids as Airflow generates them)."""

from __future__ import annotations

import pytest

from airflow_mlops.ct.priority import (
    AUTOMATIC_WEIGHT,
    MANUAL_WEIGHT,
    check_run_id,
    trigger_weight,
)
from airflow_mlops.errors import ConfigError


@pytest.mark.parametrize(
    ("run_id", "weight"),
    [
        ("scheduled__2026-01-01T02:00:00+00:00", AUTOMATIC_WEIGHT),
        ("asset_triggered__2026-01-01T02:00:00+00:00_abc", AUTOMATIC_WEIGHT),
        ("manual__2026-01-01T02:00:00+00:00", MANUAL_WEIGHT),
        ("my-own-run-id", MANUAL_WEIGHT),
        ("scheduled", MANUAL_WEIGHT),
    ],
)
def test_the_trigger_in_the_run_id_sets_the_weight(run_id: str, weight: int) -> None:
    assert trigger_weight(run_id) == weight


@pytest.mark.parametrize(
    ("run_id", "run_type"),
    [
        ("scheduled__2026-01-01T02:00:00+00:00", "scheduled"),
        ("asset_triggered__2026-01-01T02:00:00+00:00_abc", "asset_triggered"),
        ("manual__2026-01-01T02:00:00+00:00", "manual"),
        ("my-own-run-id", "manual"),
        ("nightly__rerun", "manual"),
    ],
)
def test_a_run_id_that_tells_the_truth_passes(run_id: str, run_type: str) -> None:
    check_run_id(run_id, run_type)


def test_a_manual_run_cannot_claim_an_automatic_runs_priority() -> None:
    from airflow.utils.types import DagRunType

    with pytest.raises(ConfigError, match=r"claims a 'scheduled' run, but .* 'manual'") as error:
        check_run_id("scheduled__2099-01-01", DagRunType.MANUAL)
    assert "'asset_triggered__'" in error.value.hint
