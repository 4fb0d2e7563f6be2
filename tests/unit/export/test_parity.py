"""compare_scores: numpy.isclose semantics, NaN is a mismatch, the worst cell is named."""

from __future__ import annotations

import numpy as np
import pytest

from airflow_mlops.errors import ExportError
from airflow_mlops.export.parity import compare_scores


def test_identical_scores_pass_with_zero_gap() -> None:
    scores = np.random.default_rng(0).random((50, 3), dtype=np.float32)
    report = compare_scores(scores, scores.copy(), atol=0.0, rtol=0.0)
    assert report.ok
    assert report.max_abs == 0.0
    assert report.rows == 50


def test_the_worst_cell_is_named_by_row_label_and_column_label() -> None:
    expected = np.zeros((4, 2), dtype=np.float32)
    actual = expected.copy()
    actual[2, 1] = 0.5
    actual[0, 0] = 1e-7
    report = compare_scores(
        expected, actual, atol=1e-5, rtol=0.0, row_labels=[10, 11, 12, 13], column_labels=["a", "b"]
    )
    assert not report.ok
    assert report.mismatched == 1
    assert report.max_abs == pytest.approx(0.5)
    assert (report.worst_row, report.worst_column) == (12, "b")


def test_rtol_scales_with_the_expected_value() -> None:
    expected = np.asarray([[1000.0]], dtype=np.float32)
    actual = np.asarray([[1000.05]], dtype=np.float32)
    assert compare_scores(expected, actual, atol=0.0, rtol=1e-4).ok
    assert not compare_scores(expected, actual, atol=0.0, rtol=1e-6).ok


def test_nan_on_either_side_is_a_mismatch() -> None:
    expected = np.asarray([[0.5, 0.5]], dtype=np.float32)
    actual = np.asarray([[np.nan, 0.5]], dtype=np.float32)
    report = compare_scores(expected, actual, atol=1.0, rtol=1.0)
    assert report.mismatched == 1
    assert report.max_abs == float("inf")


def test_shape_mismatch_is_an_export_error() -> None:
    with pytest.raises(ExportError, match=r"shape \(3, 1\), torch scores \(3, 2\)"):
        compare_scores(np.zeros((3, 2)), np.zeros((3, 1)), atol=0.0, rtol=0.0)
