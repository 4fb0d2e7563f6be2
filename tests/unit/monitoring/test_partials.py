"""The drift check over partitions: partial sketches per file, merged, decide exactly as the
single pass over all files."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from airflow_mlops.errors import DriftError
from airflow_mlops.monitoring.drift_types import DriftConfig
from airflow_mlops.monitoring.partials import (
    decide,
    load_partial,
    load_reference,
    merge_partials,
    partial_sketch,
    save_partial,
    save_reference,
)
from airflow_mlops.monitoring.scalable import compute_drift, fit_reference
from airflow_mlops.monitoring.sources import frame_source, parquet_source, write_parquet


def partitioned(tmp_path, frame, parts):
    """``frame`` split into ``parts`` Parquet files (uneven sizes, small row groups)."""
    cuts = np.linspace(0, len(frame), parts + 1).astype(int)
    cuts[1:-1] += np.arange(1, parts) * 37  # not the same size
    return [
        write_parquet([frame.iloc[a:b]], tmp_path / f"part-{i}.parquet")
        for i, (a, b) in enumerate(itertools.pairwise(cuts))
    ]


def map_reduce(tmp_path, reference, files, numerical, categorical, config):
    """Fit once, a sketch file per partition (through the artifact files), merge, decide."""
    fit = fit_reference(reference, numerical, categorical, config)
    fit = load_reference(save_reference(fit, tmp_path / "reference.npz"))
    paths = [
        save_partial(partial_sketch(fit, parquet_source([f], 500)), tmp_path / f"{f.stem}.npz")
        for f in files
    ]
    merged = merge_partials(fit, [load_partial(fit, p) for p in paths])
    return decide(fit, merged, reference, parquet_source(files), config)


@pytest.mark.parametrize("parts", [1, 3, 7])
@pytest.mark.parametrize(
    ("ref_rows", "cur_rows", "shift", "config"),
    [
        (3_000, 9_000, None, None),  # Wasserstein + Jensen-Shannon, no drift
        (3_000, 9_000, {"mean_radius": 0.8, "worst_area": 0.8}, None),  # drift
        (600, 12_000, {"mean_radius": 0.3}, None),  # streamed K-S + chi-square
        (2_000, 4_000, {"mean_radius": 0.5}, DriftConfig(num_method="psi")),  # coarse bins
    ],
)
def test_same_decisions_and_scores_as_the_single_pass(
    tmp_path, sample, numerical, categorical, parts, ref_rows, cur_rows, shift, config
):
    reference = frame_source(sample(ref_rows, 1).drop(columns="malignant"), 700)
    current = sample(cur_rows, 2, shift=shift).drop(columns="malignant")
    files = partitioned(tmp_path, current, parts)
    single = compute_drift(
        reference,
        parquet_source(files),
        numerical_columns=numerical,
        categorical_columns=categorical,
        config=config,
    )
    mapped = map_reduce(tmp_path, reference, files, numerical, categorical, config)
    assert mapped.dataset_drift == single.dataset_drift
    assert mapped.drifted_columns == single.drifted_columns
    assert (mapped.reference_rows, mapped.current_rows) == (ref_rows, cur_rows)
    for ours, theirs in zip(mapped.columns, single.columns, strict=True):
        assert (ours.column, ours.method, ours.drifted) == (
            theirs.column,
            theirs.method,
            theirs.drifted,
        )
        assert ours.recomputed_exactly == theirs.recomputed_exactly
        assert ours.score == pytest.approx(theirs.score, rel=1e-9, abs=1e-12)
    assert bool(single.drifted_columns) == bool(shift)  # with and without drift


def test_an_empty_partition_adds_nothing_and_empty_data_is_refused(
    tmp_path, sample, numerical, categorical
):
    reference = frame_source(sample(2_000, 1).drop(columns="malignant"))
    current = sample(3_000, 2).drop(columns="malignant")
    fit = fit_reference(reference, numerical, categorical, DriftConfig())
    empty = partial_sketch(fit, frame_source(current.iloc[:0]))
    full = partial_sketch(fit, frame_source(current))
    merged = merge_partials(fit, [empty, full])
    assert merged.rows == 3_000
    assert np.array_equal(merged.fine, full.fine)
    with pytest.raises(DriftError, match="current data is empty"):
        merge_partials(fit, [empty])


def test_a_sketch_of_another_reference_grid_is_refused(tmp_path, sample, numerical):
    frame = sample(2_000, 1).drop(columns="malignant")
    small = fit_reference(frame_source(frame), numerical, [], DriftConfig(fine_bins=256))
    large = fit_reference(frame_source(frame), numerical, [], DriftConfig())
    path = save_partial(partial_sketch(small, frame_source(frame)), tmp_path / "p.npz")
    with pytest.raises(DriftError, match="another reference grid"):
        load_partial(large, path)
