"""Timing helpers: percentiles, cyclic batches, torch thread count restored."""

from __future__ import annotations

import time

import pandas as pd
import torch

from airflow_mlops.export.latency import TimingPlan, resize_rows, time_calls, torch_threads


def test_time_calls_reports_ordered_percentiles_within_the_plan() -> None:
    plan = TimingPlan(warmup=1, min_calls=5, max_calls=30, max_seconds=0.05)
    stats = time_calls(lambda: time.sleep(0.001), batch=8, threads=1, plan=plan)
    assert 5 <= stats.calls <= 30
    assert 1.0 <= stats.p50_ms <= stats.p95_ms
    assert stats.rows_per_second < 8 / 0.001
    assert set(stats.to_dict()) >= {"batch", "p50_ms", "p95_ms", "rows_per_second", "threads"}


def test_min_calls_win_over_the_time_limit() -> None:
    plan = TimingPlan(warmup=0, min_calls=3, max_calls=10, max_seconds=0.0)
    assert time_calls(lambda: None, batch=1, threads=1, plan=plan).calls == 3


def test_resize_rows_cycles_through_the_sample() -> None:
    frame = pd.DataFrame({"a": [1, 2, 3]}, index=[7, 8, 9])
    assert resize_rows(frame, 7)["a"].tolist() == [1, 2, 3, 1, 2, 3, 1]
    assert resize_rows(frame, 1).index.tolist() == [0]


def test_torch_threads_restores_the_previous_count() -> None:
    before = torch.get_num_threads()
    with torch_threads(1):
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == before
