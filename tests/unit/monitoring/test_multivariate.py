"""Dataset-level drift: PCA reconstruction error sees a change in how columns move together."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from airflow_mlops.monitoring.monitor import WHAT_EACH_TEST_SEES, monitor_window
from airflow_mlops.monitoring.multivariate import multivariate_drift
from airflow_mlops.monitoring.scalable import compute_drift
from airflow_mlops.monitoring.sources import frame_source, write_parquet

COLUMNS = ["x", "y", "z"]


def correlated(rows: int, rho: float, seed: int) -> pd.DataFrame:
    """x and y standard normal with correlation ``rho``; z independent of both."""
    rng = np.random.default_rng(seed)
    x, noise, z = rng.normal(size=(3, rows))
    return pd.DataFrame({"x": x, "y": rho * x + np.sqrt(1 - rho**2) * noise, "z": z})


def test_a_flipped_correlation_is_seen_only_by_the_multivariate_test() -> None:
    reference, flipped = correlated(5_000, 0.8, 1), correlated(1_000, -0.8, 2)
    per_column = compute_drift(
        frame_source(reference), frame_source(flipped), numerical_columns=COLUMNS
    )
    together = multivariate_drift(
        frame_source(reference, 700), frame_source(flipped, 300), COLUMNS, chunk_rows=500
    )
    assert per_column.drifted_columns == []  # every column's own distribution is the same
    assert together.drifted and together.current_error > together.upper
    assert (together.components, together.reference_rows, together.current_rows) == (
        2,
        5_000,
        1_000,
    )


@pytest.mark.parametrize("rows", [200, 1_000, 5_000])
def test_the_same_correlations_are_no_drift(rows: int) -> None:
    reference, same = correlated(5_000, 0.8, 1), correlated(rows, 0.8, rows)
    result = multivariate_drift(
        frame_source(reference), frame_source(same), COLUMNS, chunk_rows=min(500, rows)
    )
    assert not result.drifted
    assert result.lower <= result.reference_error <= result.upper


def test_streamed_chunks_do_not_change_the_result() -> None:
    reference, current = correlated(3_000, 0.5, 3), correlated(900, 0.5, 4)
    whole = multivariate_drift(frame_source(reference), frame_source(current), COLUMNS)
    sliced = multivariate_drift(frame_source(reference, 128), frame_source(current, 77), COLUMNS)
    assert sliced.current_error == pytest.approx(whole.current_error)
    assert (sliced.lower, sliced.upper) == pytest.approx((whole.lower, whole.upper))


def test_one_column_has_no_multivariate_test() -> None:
    frame = correlated(100, 0.5, 5)
    assert multivariate_drift(frame_source(frame), frame_source(frame), ["x"]) is None


def test_the_verdict_retrains_on_it_and_says_what_each_test_sees(tmp_path) -> None:
    files = [write_parquet([correlated(1_000, -0.8, 2)], tmp_path / "part-1.parquet")]
    result = monitor_window(
        correlated(5_000, 0.8, 1),
        files,
        numerical_columns=COLUMNS,
        report_path=tmp_path / "report.html",
    ).as_dict()
    assert (result["dataset_drift"], result["drifted_columns"]) == (False, [])
    assert result["multivariate_drift"]["drifted"] and result["reason"] == "drift"
    assert result["sees"] == WHAT_EACH_TEST_SEES
    assert "correlations" in result["sees"]["multivariate_drift"]
    assert "blind to a change in how columns move together" in result["sees"]["column_drift"]
