"""Batch scoring core and the date-partitioned inference log."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from airflow_mlops.errors import DataError, DriftError
from airflow_mlops.export.runtime import OnnxPredictor
from airflow_mlops.monitoring.scoring import (
    CONFIDENCE,
    MODEL_VERSION,
    PREDICTION,
    PREDICTION_ID,
    SCORED_AT,
    log_partition,
    score_dataset,
    window_files,
)

WHEN = dt.datetime(2024, 5, 2, 23, 30, tzinfo=dt.UTC)


def score(predictor, path, tmp_path, run="run-1", chunk_rows=300, **kwargs):
    return score_dataset(
        predictor,
        path,
        predictions_path=tmp_path / "out" / f"{run}.parquet",
        log_root=tmp_path / "log",
        model="cancer model",
        model_version="3",
        run=run,
        scored_at=WHEN,
        chunk_rows=chunk_rows,
        **kwargs,
    )


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_scores_in_chunks_and_logs_inputs_with_predictions(
    tmp_path, sample, onnx_classifier, suffix
):
    frame = sample(1_000, 5)
    path = tmp_path / f"batch{suffix}"
    frame.to_csv(path, index=False) if suffix == ".csv" else frame.to_parquet(path)
    predictor = OnnxPredictor.load(onnx_classifier)
    result = score(predictor, path, tmp_path)

    assert result.rows == 1_000 and result.model_version == "3"
    predictions = pd.read_parquet(result.predictions_uri)
    np.testing.assert_array_equal(predictions[PREDICTION], predictor.predict(frame))
    assert list(predictions.columns) == [PREDICTION_ID, PREDICTION, "score_0", "score_1"]
    # a generated id: the run and the row's position in the input, the same in both outputs
    assert predictions[PREDICTION_ID].tolist() == [f"run-1-{i}" for i in range(1_000)]
    partition = log_partition(tmp_path / "log", "cancer model", dt.date(2024, 5, 2))
    assert result.inference_log_uri == str((partition / "part-run-1.parquet").resolve())
    logged = pd.read_parquet(result.inference_log_uri)
    assert set(predictor.feature_columns) <= set(logged.columns)
    assert (logged[MODEL_VERSION] == "3").all()
    assert logged[SCORED_AT].iloc[0] == pd.Timestamp("2024-05-02 23:30")
    np.testing.assert_array_equal(logged[PREDICTION], predictions[PREDICTION])
    np.testing.assert_array_equal(logged[PREDICTION_ID], predictions[PREDICTION_ID])
    scores = predictions[["score_0", "score_1"]].to_numpy().max(axis=1)
    np.testing.assert_allclose(logged[CONFIDENCE], scores)


def test_the_id_column_names_each_prediction(tmp_path, sample, onnx_classifier):
    path = tmp_path / "batch.parquet"
    sample(400, 5).assign(row_id=np.arange(1000, 1400)).to_parquet(path)
    predictor = OnnxPredictor.load(onnx_classifier)
    result = score(predictor, path, tmp_path, chunk_rows=150, id_column="row_id")
    logged = pd.read_parquet(result.inference_log_uri)
    assert logged[PREDICTION_ID].tolist() == [str(i) for i in range(1000, 1400)]
    with pytest.raises(DataError, match=r"lacks columns \['order_no'\]"):
        score(predictor, path, tmp_path, run="run-2", id_column="order_no")


def test_a_retried_run_replaces_its_log_file(tmp_path, sample, onnx_classifier):
    path = tmp_path / "batch.parquet"
    sample(500, 5).to_parquet(path)
    predictor = OnnxPredictor.load(onnx_classifier)
    score(predictor, path, tmp_path)
    score(predictor, path, tmp_path)
    score(predictor, path, tmp_path, run="run-2")
    day = dt.date(2024, 5, 2)
    files = window_files(tmp_path / "log", "cancer model", day, day)
    assert [f.name for f in files] == ["part-run-1.parquet", "part-run-2.parquet"]
    assert sum(len(pd.read_parquet(f)) for f in files) == 1_000


def test_missing_columns_fail_and_write_nothing(tmp_path, sample, onnx_classifier):
    path = tmp_path / "batch.parquet"
    sample(200, 5).drop(columns=["mean_radius"]).to_parquet(path)
    with pytest.raises(DataError, match=r"lacks columns \['mean_radius'\]"):
        score(OnnxPredictor.load(onnx_classifier), path, tmp_path)
    assert not list(tmp_path.rglob("*.parquet"))[1:]  # only the input remains


def test_missing_input_is_a_clear_error(tmp_path, onnx_classifier):
    with pytest.raises(DataError, match="does not exist"):
        score(OnnxPredictor.load(onnx_classifier), tmp_path / "none.csv", tmp_path)


def test_empty_window_and_reversed_window(tmp_path):
    day = dt.date(2024, 5, 2)
    with pytest.raises(DriftError, match="the window is empty"):
        window_files(tmp_path, "m", day, day)
    with pytest.raises(DriftError, match=r"ends .* before it starts"):
        window_files(tmp_path, "m", day, day - dt.timedelta(days=1))


def test_scoring_holds_one_chunk_at_a_time(tmp_path, sample, onnx_classifier, monkeypatch):
    """Memory stays flat: a chunk is freed before the one after the next is read, whatever the
    number of row groups, and no chunk is larger than ``chunk_rows``."""
    import gc
    import weakref

    from airflow_mlops.monitoring import scoring

    frame = sample(3_000, 6)
    path = tmp_path / "batch.parquet"
    frame.to_parquet(path, row_group_size=250)  # 12 row groups
    alive: list[int] = []  # rows of the chunks handed out and not yet freed
    held: list[int] = []
    original = scoring.input_chunks

    def instrumented(*args, **kwargs):
        for chunk in original(*args, **kwargs):
            gc.collect()
            held.append(sum(alive) + len(chunk))
            alive.append(len(chunk))
            weakref.finalize(chunk, alive.remove, len(chunk))
            yield chunk
            del chunk

    monkeypatch.setattr(scoring, "input_chunks", instrumented)
    result = score(OnnxPredictor.load(onnx_classifier), path, tmp_path, chunk_rows=200)

    assert result.rows == 3_000 and len(held) == 24  # each group of 250 in slices of 200, 50
    assert max(held) <= 2 * 200  # the chunk being read and, at most, the last one scored
    written = pq.ParquetFile(result.predictions_uri).metadata
    assert written.num_row_groups == 24  # each chunk written as it was scored


def test_chunked_outputs_equal_one_pass_over_the_whole_file(tmp_path, sample, onnx_classifier):
    frame = sample(2_000, 8)
    grouped, single = tmp_path / "grouped.parquet", tmp_path / "single.parquet"
    frame.to_parquet(grouped, row_group_size=300)
    frame.to_parquet(single, row_group_size=len(frame))
    predictor = OnnxPredictor.load(onnx_classifier)
    chunked = score(predictor, grouped, tmp_path / "chunked", chunk_rows=128)
    whole = score(predictor, single, tmp_path / "whole", chunk_rows=10_000)

    for uri in ("predictions_uri", "inference_log_uri"):
        pd.testing.assert_frame_equal(
            pd.read_parquet(getattr(chunked, uri)), pd.read_parquet(getattr(whole, uri))
        )
    logged = pd.read_parquet(chunked.inference_log_uri)
    pd.testing.assert_frame_equal(
        logged[predictor.feature_columns], frame[predictor.feature_columns]
    )
