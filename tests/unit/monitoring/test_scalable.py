"""The streamed drift check: same tests and decisions as Evidently 0.7, drift found, no false
alarms, clear errors."""

from __future__ import annotations

import numpy as np
import pytest

from airflow_mlops.errors import ConfigError, DriftError
from airflow_mlops.monitoring.column_drift import exact_numeric_score
from airflow_mlops.monitoring.drift_types import DriftConfig
from airflow_mlops.monitoring.evidently_report import column_tests, drift_preset_snapshot
from airflow_mlops.monitoring.scalable import compute_drift
from airflow_mlops.monitoring.sources import frame_source, parquet_source, write_parquet

SHIFT = {"mean_radius": 1.0, "worst_area": 1.0, "mean_texture": 0.5}


def drift(reference, current, numerical, categorical, config=None, chunk_rows=700):
    return compute_drift(
        frame_source(reference, chunk_rows),
        frame_source(current, chunk_rows),
        numerical_columns=numerical,
        categorical_columns=categorical,
        config=config,
    )


@pytest.mark.parametrize(
    ("ref_rows", "cur_rows", "config"),
    [
        (3_000, 6_000, None),  # Wasserstein + Jensen-Shannon (reference > 1000 rows)
        (600, 12_000, None),  # K-S (asymptotic) + chi-square (reference <= 1000 rows)
        (2_000, 4_000, DriftConfig(num_method="psi", cat_method="chisquare")),
    ],
)
def test_same_methods_scores_and_decisions_as_evidently(
    sample, numerical, categorical, ref_rows, cur_rows, config
):
    reference = sample(ref_rows, 1).drop(columns="malignant")
    current = sample(cur_rows, 2, shift={"mean_radius": 0.6}).drop(columns="malignant")
    ours = drift(reference, current, numerical, categorical, config)
    theirs = column_tests(
        drift_preset_snapshot(
            reference,
            current,
            numerical_columns=numerical,
            categorical_columns=categorical,
            config=config,
        )
    )
    for column in ours.columns:
        expected = theirs[column.column]
        assert column.method == expected["method"]
        assert column.threshold == expected["threshold"]
        assert column.drifted == expected["drifted"], column
        assert column.score == pytest.approx(expected["score"], abs=column.error_bound + 1e-9)
    assert "mean_radius" in ours.drifted_columns


def test_injected_drift_is_detected(sample, numerical, categorical):
    reference = sample(5_000, 1)
    current = sample(20_000, 2, shift=SHIFT)
    result = drift(reference, current, numerical, categorical, DriftConfig(drift_share=0.05))
    assert set(SHIFT) <= set(result.drifted_columns)
    assert result.dataset_drift
    assert result.as_dict()["tests"]["mean_radius"]["method"] == "wasserstein"


def test_no_drift_is_not_flagged_over_seeds(sample, numerical, categorical):
    """False-positive rate over 10 seeds: no dataset drift, and no column either, for a large
    reference (Wasserstein/Jensen-Shannon at 0.1 are far from sampling noise here)."""
    reference = sample(5_000, 100)
    flagged = [
        drift(reference, sample(10_000, seed), numerical, categorical, chunk_rows=4096)
        for seed in range(10)
    ]
    assert not any(r.dataset_drift for r in flagged)
    assert sum(len(r.drifted_columns) for r in flagged) == 0


def test_small_reference_false_positive_rate_is_near_the_test_level(sample, numerical):
    """With a reference of <= 1000 rows Evidently uses K-S at p < 0.05: about 5% of columns
    drift by chance, and the dataset (half the columns) never does."""
    reference = sample(800, 100)
    results = [drift(reference, sample(3_000, s), numerical, [], chunk_rows=4096) for s in range(8)]
    rate = sum(len(r.drifted_columns) for r in results) / (8 * len(numerical))
    assert rate < 0.2
    assert not any(r.dataset_drift for r in results)


def test_chunk_size_does_not_change_the_result(sample, numerical, categorical):
    reference, current = sample(3_000, 1), sample(5_000, 2, shift=SHIFT)
    whole = drift(reference, current, numerical, categorical, chunk_rows=10**6)
    chunked = drift(reference, current, numerical, categorical, chunk_rows=333)
    for a, b in zip(whole.columns, chunked.columns, strict=True):
        assert a.score == pytest.approx(b.score, rel=1e-6)


def test_values_outside_the_reference_range_nan_and_inf(sample):
    """Tails beyond the grid are exact; NaN and inf are dropped as Evidently drops them."""
    reference = sample(3_000, 1)[["mean_radius"]].astype("float64")
    current = sample(4_000, 2)[["mean_radius"]].astype("float64")
    current.loc[:99, "mean_radius"] = 500.0
    current.loc[100:149, "mean_radius"] = -50.0
    current.loc[150:159, "mean_radius"] = np.nan
    current.loc[160:164, "mean_radius"] = np.inf
    column = drift(reference, current, ["mean_radius"], []).columns[0]
    finite = current["mean_radius"][np.isfinite(current["mean_radius"])].to_numpy()
    exact = exact_numeric_score("wasserstein", reference["mean_radius"].to_numpy(), finite)
    assert column.current_rows == len(finite)
    assert abs(column.score - exact) <= column.error_bound
    assert column.drifted


def test_score_near_the_threshold_is_recomputed_exactly(sample):
    reference, current = sample(3_000, 1), sample(4_000, 2, shift={"mean_radius": 0.5})
    first = drift(reference, current, ["mean_radius"], []).columns[0]
    config = DriftConfig(threshold=first.score)
    column = drift(reference, current, ["mean_radius"], [], config).columns[0]
    assert column.recomputed_exactly and column.error_bound == 0
    exact = exact_numeric_score(
        "wasserstein", reference["mean_radius"].to_numpy(), current["mean_radius"].to_numpy()
    )
    assert column.score == pytest.approx(exact, rel=1e-6)


def test_few_valued_numeric_column_uses_value_counts(sample):
    reference, current = sample(3_000, 1), sample(3_000, 2)
    reference["grade"] = np.arange(3_000) % 3
    current["grade"] = np.where(np.arange(3_000) % 5 == 0, 2, np.arange(3_000) % 3)
    ours = drift(reference, current, ["grade"], []).columns[0]
    theirs = column_tests(drift_preset_snapshot(reference, current, numerical_columns=["grade"]))
    assert ours.method == theirs["grade"]["method"] == "jensenshannon"
    assert ours.score == pytest.approx(theirs["grade"]["score"], rel=1e-9)


def test_parquet_source_streams_files(tmp_path, sample, numerical, categorical):
    reference, current = sample(2_000, 1), sample(3_000, 2, shift=SHIFT)
    files = [
        write_parquet([current.iloc[:1_000]], tmp_path / "a.parquet"),
        write_parquet([current.iloc[1_000:]], tmp_path / "b.parquet"),
    ]
    streamed = compute_drift(
        frame_source(reference),
        parquet_source(files, batch_rows=512),
        numerical_columns=numerical,
        categorical_columns=categorical,
    )
    in_memory = drift(reference, current, numerical, categorical)
    for a, b in zip(streamed.columns, in_memory.columns, strict=True):
        assert (a.column, a.method, a.drifted) == (b.column, b.method, b.drifted)
        assert a.score == pytest.approx(b.score, rel=1e-6)


def test_missing_column_is_a_clear_error(sample, numerical):
    reference, current = sample(500, 1), sample(500, 2).drop(columns=["mean_radius"])
    with pytest.raises(DriftError, match=r"current data lacks columns \['mean_radius'\]") as info:
        drift(reference, current, numerical, [])
    assert info.value.details["missing"] == ["mean_radius"]


def test_empty_window_is_a_clear_error(sample, numerical):
    reference, current = sample(500, 1), sample(500, 2).iloc[:0]
    with pytest.raises(DriftError, match=r"current data is empty \(0 rows\)"):
        drift(reference, current, numerical, [])


def test_all_missing_column_is_a_clear_error(sample):
    reference, current = sample(500, 1), sample(500, 2)
    current["mean_radius"] = np.nan
    with pytest.raises(DriftError, match=r"no values in columns \['mean_radius'\]"):
        drift(reference, current, ["mean_radius"], [])


def test_non_numeric_values_in_a_numerical_column(sample):
    reference, current = sample(500, 1), sample(500, 2)
    current["mean_radius"] = "big"
    with pytest.raises(DriftError, match="holds non-numbers"):
        drift(reference, current, ["mean_radius"], [])


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"drift_share": 0}, "drift_share=0"),
        ({"method": "energy"}, "Unknown drift methods"),
        ({"num_method": "chisquare"}, "does not apply to numerical"),
        ({"cat_method": "wasserstein"}, "does not apply to categorical"),
        ({"threshold": -1}, "positive numbers"),
    ],
)
def test_config_is_validated(kwargs, message):
    with pytest.raises(ConfigError, match=message):
        DriftConfig(**kwargs)


def test_config_resolution_order():
    config = DriftConfig(
        method="psi", num_method="ks", per_column_method={"a": "wasserstein"}, threshold=0.2
    )
    assert config.method_for("a", "num", "jensenshannon") == "wasserstein"
    assert config.method_for("b", "num", "jensenshannon") == "ks"
    assert config.method_for("c", "cat", "jensenshannon") == "psi"
    assert config.threshold_for("c", "cat", "psi") == 0.2
    assert DriftConfig().threshold_for("c", "cat", "chisquare") == 0.05
