"""The drift test of one column from the streamed statistics: numerical columns (binned
Wasserstein, streamed K-S, value counts, or an exact recomputation on the raw values) and
categorical columns (value counts)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from airflow_mlops.errors import ConfigError
from airflow_mlops.monitoring import stats
from airflow_mlops.monitoring.drift_types import ColumnDrift, DriftConfig
from airflow_mlops.monitoring.passes import Streamed, raw_column
from airflow_mlops.monitoring.sketches import aligned

if TYPE_CHECKING:
    import numpy as np

#: scipy's ks_2samp is exact (not asymptotic) when both samples are at most this size
KS_EXACT_MAX_ROWS = 10_000


def numeric_drift(column: str, method: str, streamed: Streamed, config: DriftConfig) -> ColumnDrift:
    """The test of a numerical column with ``method``; scores that the streamed statistics
    cannot settle are recomputed exactly on the raw values."""
    threshold = config.threshold_for(column, stats.NUMERICAL, method)
    score, bound, exact = _numeric_score(column, method, threshold, streamed)
    if exact:
        # too close to the threshold for the binned score, or small enough for scipy's exact K-S
        score = exact_numeric_score(
            method, raw_column(streamed.reference, column), raw_column(streamed.current, column)
        )
        bound = 0.0
    return ColumnDrift(
        column=column,
        column_type=stats.NUMERICAL,
        method=method,
        threshold=threshold,
        score=score,
        drifted=stats.is_drifted(method, score, threshold),
        reference_rows=streamed.profile.profiles[column].rows,
        current_rows=streamed.cur.profiles[column].rows,
        error_bound=bound,
        recomputed_exactly=exact,
    )


def _numeric_score(
    column: str, method: str, threshold: float, streamed: Streamed
) -> tuple[float, float, bool]:
    """(score, bound on its error, whether it must be recomputed exactly)."""
    if column in streamed.binned:
        return count_score(method, streamed.binned[column]), 0.0, False
    if method == "wasserstein":
        score, bound = _wasserstein_streamed(column, streamed)
        return score, bound, bool(abs(score - threshold) <= bound)
    if method == "ks":
        rows = max(streamed.profile.profiles[column].rows, streamed.cur.profiles[column].rows)
        if rows <= KS_EXACT_MAX_ROWS:
            return 0.0, 0.0, True
        return _ks_streamed(column, streamed), 0.0, False
    return _counted_score(column, method, streamed), 0.0, False


def _wasserstein_streamed(column: str, streamed: Streamed) -> tuple[float, float]:
    """The normed distance from the grid histograms, and the bound on its error."""
    hist, below, above, below_area, above_area = streamed.cur.fine_histogram(column)
    grid = streamed.grid
    return stats.wasserstein_binned(
        streamed.ref.fine_histogram(column)[0],
        hist,
        float(grid.width[grid.columns.index(column)]),
        max(streamed.profile.profiles[column].std, 0.001),
        current_below=below,
        current_above=above,
        below_area=below_area,
        above_area=above_area,
    )


def _ks_streamed(column: str, streamed: Streamed) -> float:
    """The K-S p-value from the current counts below and at each reference value."""
    import numpy as np

    below, at = streamed.cur.ks[column]
    lt = np.cumsum(below)[:-1].astype(np.float64)
    rows = (streamed.profile.profiles[column].rows, streamed.cur.profiles[column].rows)
    return stats.ks_from_cdf(streamed.ks_cdf[column], lt, lt + at, *rows)[1]


def _counted_score(column: str, method: str, streamed: Streamed) -> float:
    """The score of a few-valued reference column from the value counts of both samples."""
    import numpy as np

    reference, current = streamed.profile.profiles[column], streamed.cur.profiles[column]
    if current.counts is not None:
        return count_score(method, aligned(reference.counts, current.counts))
    # the current values were too many to have counted: count the raw values
    ref_keys, ref_counts = np.unique(raw_column(streamed.reference, column), return_counts=True)
    cur_keys, cur_counts = np.unique(raw_column(streamed.current, column), return_counts=True)
    return count_score(
        method,
        aligned(
            dict(zip(ref_keys.tolist(), ref_counts.tolist(), strict=True)),
            dict(zip(cur_keys.tolist(), cur_counts.tolist(), strict=True)),
        ),
    )


def exact_numeric_score(method: str, reference: np.ndarray, current: np.ndarray) -> float:
    """The score Evidently computes from two full numerical columns (scipy on raw values)."""
    import numpy as np
    from scipy import stats as sps

    if method == "wasserstein":
        norm = max(float(np.std(reference)), 0.001)
        return float(sps.wasserstein_distance(reference, current) / norm)
    if method == "ks":
        return float(sps.ks_2samp(reference, current)[1])
    raise ConfigError(f"No exact raw-value path for method {method!r}.")


def count_score(method: str, counts: stats.Counts) -> float:
    """The score of ``method`` on aligned value counts or bins."""
    if method == "chisquare":
        return stats.chisquare_p(counts)
    if method == "z":
        return stats.z_p(counts)
    if method == "psi":
        return stats.psi(counts.reference, counts.current)
    if method == "jensenshannon":
        return stats.jensenshannon(counts.reference, counts.current)
    raise ConfigError(
        f"Method {method!r} does not apply to binned or categorical values.",
        hint=f"Use one of {list(stats.CATEGORICAL_METHODS)} for this column.",
    )


def categorical_drift(column: str, streamed: Streamed, config: DriftConfig) -> ColumnDrift:
    """The test of a categorical column, from the value counts of both samples."""
    reference = streamed.profile.categories[column]
    current = streamed.cur.categories[column]
    counts = aligned(reference.counts, current.counts)
    default = stats.default_method(stats.CATEGORICAL, reference.rows, len(counts.keys))
    method = config.method_for(column, stats.CATEGORICAL, default)
    threshold = config.threshold_for(column, stats.CATEGORICAL, method)
    score = count_score(method, counts)
    return ColumnDrift(
        column=column,
        column_type=stats.CATEGORICAL,
        method=method,
        threshold=threshold,
        score=score,
        drifted=stats.is_drifted(method, score, threshold),
        reference_rows=reference.rows,
        current_rows=current.rows,
    )
