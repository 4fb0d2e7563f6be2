"""Recent traffic from the inference log, and the shadow comparison of two ONNX models."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest

from airflow_mlops.errors import DataError
from airflow_mlops.local.demo.synthetic import SyntheticGenerator
from airflow_mlops.model_registry.shadow import ks_distance, recent_traffic, shadow_compare
from airflow_mlops.monitoring.scoring import log_partition

TODAY = dt.date(2026, 11, 23)


def _log(root: Path, day: dt.date, rows: int, run: str) -> pd.DataFrame:
    frame = next(SyntheticGenerator.fit().chunks(rows, seed=rows, chunk_rows=rows))
    folder = log_partition(root, "m", day)
    folder.mkdir(parents=True, exist_ok=True)
    logged = frame.assign(prediction=1, model_version="3", scored_at=str(day))
    logged.to_parquet(folder / f"part-{run}.parquet")
    return frame


def test_recent_traffic_reads_the_window_newest_first_and_drops_log_columns(tmp_path):
    newest = _log(tmp_path, TODAY, 30, "a")
    _log(tmp_path, TODAY - dt.timedelta(days=2), 50, "b")
    _log(tmp_path, TODAY - dt.timedelta(days=9), 70, "old")  # outside a 7-day window

    traffic, source = recent_traffic(tmp_path, "m", days=7, today=TODAY)
    assert len(traffic) == 80 and source == "2026-11-21..2026-11-23"
    assert not {"prediction", "model_version", "scored_at"} & set(traffic.columns)

    capped, source = recent_traffic(tmp_path, "m", days=7, max_rows=20, today=TODAY)
    pd.testing.assert_frame_equal(capped, newest.head(20).reset_index(drop=True))
    assert source == "2026-11-23..2026-11-23"


def test_no_traffic_in_the_window_is_none_and_a_damaged_file_is_a_clear_error(tmp_path):
    assert recent_traffic(tmp_path, "m", today=TODAY) is None
    folder = log_partition(tmp_path, "m", TODAY)
    folder.mkdir(parents=True)
    (folder / "part-x.parquet").write_bytes(b"not parquet")
    with pytest.raises(DataError, match=r"part-x\.parquet' cannot be read"):
        recent_traffic(tmp_path, "m", today=TODAY)


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    from airflow_mlops.export.runtime import OnnxPredictor
    from airflow_mlops.local.demo.model import export_demo_model

    root = tmp_path_factory.mktemp("models")
    linear = OnnxPredictor.load(export_demo_model(root / "linear", hidden_units=None))
    mlp = OnnxPredictor.load(export_demo_model(root / "mlp", hidden_units=16))
    return linear, mlp


def test_a_model_agrees_with_itself_and_two_models_are_measured(models, tmp_path):
    linear, mlp = models
    traffic = _log(tmp_path, TODAY, 400, "a")

    same = shadow_compare(linear, linear, traffic, "today")
    assert (same.rows, same.agreement, same.mean_abs_diff, same.score_shift) == (400, 1, 0, 0)

    other = shadow_compare(mlp, linear, traffic, "today")
    expected = mlp.predict_proba(traffic).argmax(1) == linear.predict_proba(traffic).argmax(1)
    assert other.agreement == pytest.approx(expected.mean())
    assert 0 < other.mean_abs_diff <= 1
    assert 0 < other.score_shift <= 1


def test_ks_distance():
    import numpy as np

    assert ks_distance(np.array([0.1, 0.2]), np.array([0.1, 0.2])) == 0
    assert ks_distance(np.array([0.1, 0.2]), np.array([0.8, 0.9])) == 1
    assert ks_distance(np.array([0.1, 0.2, 0.3, 0.4]), np.array([0.3, 0.4])) == 0.5
