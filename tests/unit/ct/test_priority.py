"""Automatic runs' training outranks manual runs' (run ids as Airflow generates them)."""

from __future__ import annotations

import pytest

from airflow_mlops.ct.priority import AUTOMATIC_WEIGHT, MANUAL_WEIGHT, trigger_weight


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
