"""Per-column data drift at scale, with the same decisions as Evidently 0.7 on the full data.

Evidently's ``DataDriftPreset`` needs both samples in memory as DataFrames, sorts each column
(Wasserstein) and computes full correlation matrices; at 10M rows that is minutes and many GB.
This module streams the data in chunks instead: the reference twice (a profile, then its
statistics), the current sample **once**, keeping only fixed-size sufficient statistics:

- ``wasserstein`` (Evidently's default for numerical columns of a reference > 1000 rows):
  a 32,768-bin histogram on a grid over the reference's range, plus the exact count and summed
  distance of current values outside it. The normed distance is integrated from the two CDFs;
  outside the grid it is exact, inside its absolute error is at most ``3 * bin_width /
  std_ref`` (:func:`~airflow_mlops.monitoring.stats.wasserstein_binned`), about 1e-3 for a column
  spanning 10 standard deviations. When the score is within that bound of the threshold, the
  column is recomputed exactly (scipy on the full column), so the decision is Evidently's.
- ``ks`` (default for a reference of at most 1000 rows): exact. The current counts below and at
  each distinct reference value (``searchsorted`` + ``bincount``) give the exact statistic, and
  the p-value is Smirnov's asymptotic one, as scipy computes it for large samples (samples of at
  most 10,000 rows each go to scipy as they are: it then uses its exact distribution).
- ``chisquare``, ``z``, ``jensenshannon`` and ``psi`` on categorical or few-valued columns:
  exact value counts. ``jensenshannon``/``psi`` on continuous columns use Evidently's Sturges
  bins of the combined range, which needs the current range first: only those columns cost a
  second pass over the current data.

Evidently picks methods from the number of distinct values in both samples together: the
profile tracks them while there are at most 21, which is all the choice needs. NaN and
infinite values are dropped first, as Evidently does.

This module plans the passes and picks each column's method; the reading loop is in
:mod:`~airflow_mlops.monitoring.passes`, the statistics it keeps in
:mod:`~airflow_mlops.monitoring.sketches`, the per-column tests in
:mod:`~airflow_mlops.monitoring.column_drift`, the configuration and results in
:mod:`~airflow_mlops.monitoring.drift_types`.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from airflow_mlops.errors import DriftError
from airflow_mlops.monitoring import stats
from airflow_mlops.monitoring.column_drift import categorical_drift, numeric_drift
from airflow_mlops.monitoring.drift_types import DriftConfig, DriftResult
from airflow_mlops.monitoring.passes import Streamed, StreamPass
from airflow_mlops.monitoring.sketches import Grid, Profile
from airflow_mlops.monitoring.sources import Source

if TYPE_CHECKING:
    import numpy as np

#: the reference's distinct values are counted up to this many (Evidently's choices need 21)
REFERENCE_DISTINCT = stats.BINNING_MIN_VALUES + 1
#: the current's distinct values of a few-valued reference column are counted up to this many
CURRENT_DISTINCT = 10_000


def compute_drift(
    reference: Source,
    current: Source,
    *,
    numerical_columns: Sequence[str],
    categorical_columns: Sequence[str] = (),
    config: DriftConfig | None = None,
) -> DriftResult:
    """Test every column for drift between two streamed samples (see the module docstring).

    :param reference: the reference sample (e.g. the champion's training data).
    :param current: the current sample (e.g. a window of the inference log).
    :param numerical_columns: columns compared as numbers.
    :param categorical_columns: columns compared as categories.
    :raises DriftError: a column is missing, a sample or one of its columns is empty, or a
        numerical column holds non-numbers.
    """
    config = config or DriftConfig()
    numeric, categorical = list(numerical_columns), list(categorical_columns)
    if not numeric and not categorical:
        raise DriftError("No columns to monitor.", hint="Pass the model's feature columns.")
    started = time.perf_counter()
    fit = fit_reference(reference, numeric, categorical, config)
    cur = fit.current_pass().run(current)
    return decide(
        Streamed(reference, current, fit.profile, fit.ref, cur, fit.grid, fit.ks_cdf),
        config,
        started,
    )


@dataclass
class ReferenceFit:
    """What the current data is compared with: the reference's profile, its statistics on the
    Wasserstein grid, and its K-S steps (sorted distinct values, CDF at each)."""

    numeric: list[str]
    categorical: list[str]
    profile: StreamPass
    ref: StreamPass
    grid: Grid
    ks_values: dict[str, np.ndarray]
    ks_cdf: dict[str, np.ndarray]

    def current_pass(self) -> StreamPass:
        """An empty pass over (part of) the current data, on the reference's grid and steps."""
        distinct = {
            c: CURRENT_DISTINCT for c in self.numeric if self.profile.profiles[c].counts is not None
        }
        return StreamPass(
            "current",
            self.numeric,
            self.categorical,
            max_distinct=distinct,
            grid=self.grid,
            ks=self.ks_values,
        )


def fit_reference(
    reference: Source,
    numeric: Sequence[str],
    categorical: Sequence[str] = (),
    config: DriftConfig | None = None,
) -> ReferenceFit:
    """The reference twice: its profile, then the statistics the profile calls for."""
    import numpy as np

    config = config or DriftConfig()
    numeric, categorical = list(numeric), list(categorical)

    distinct = dict.fromkeys(numeric, REFERENCE_DISTINCT)
    profile = StreamPass("reference", numeric, categorical, max_distinct=distinct).run(reference)
    candidates = {c: candidate_methods(c, profile.profiles[c], config) for c in numeric}
    fine = [c for c in numeric if "wasserstein" in candidates[c]]
    grid = Grid(
        fine,
        np.array([profile.profiles[c].low for c in fine]),
        np.array([profile.profiles[c].high for c in fine]),
        config.fine_bins,
    )
    ks_columns = [c for c in numeric if "ks" in candidates[c]]
    ref = StreamPass(
        "reference", numeric, [], max_distinct=distinct, grid=grid, keep_raw=ks_columns
    ).run(reference)
    ks_values, ks_cdf = _ks_steps(ref, ks_columns)
    ref.raw = {}
    return ReferenceFit(numeric, categorical, profile, ref, grid, ks_values, ks_cdf)


def decide(streamed: Streamed, config: DriftConfig, started: float) -> DriftResult:
    """Each column's method and test, and the dataset decision, from the passes' statistics
    (a second pass over both samples for the columns binned coarsely)."""
    numeric, categorical = streamed.cur.numeric, streamed.cur.categorical
    methods = {c: _numeric_method(c, streamed, config) for c in numeric}
    _bin_coarsely(streamed, methods)
    results = [numeric_drift(c, methods[c], streamed, config) for c in numeric]
    results += [categorical_drift(c, streamed, config) for c in categorical]
    return DriftResult(
        columns=results,
        drift_share_threshold=config.drift_share,
        reference_rows=streamed.profile.rows,
        current_rows=streamed.cur.rows,
        seconds=time.perf_counter() - started,
    )


def _ks_steps(
    ref: StreamPass, columns: list[str]
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Per column: the reference's sorted distinct values, and its CDF at each of them."""
    import numpy as np

    values, cdf = {}, {}
    for column in columns:
        values[column], counts = np.unique(ref.raw_column(column), return_counts=True)
        cdf[column] = np.cumsum(counts) / counts.sum()
    return values, cdf


def candidate_methods(column: str, profile: Profile, config: DriftConfig) -> set[str]:
    """The methods a numerical column may get, whatever values the current data adds.

    Evidently's choice changes only at 2 and 5 distinct values (reference and current
    together), so for a few-valued reference column a handful of counts cover every case.
    """
    if profile.counts is None:
        n_values = [REFERENCE_DISTINCT + 1]
    else:
        n_values = [max(len(profile.counts), n) for n in (1, 3, 6)]
    return {
        config.method_for(
            column, stats.NUMERICAL, stats.default_method(stats.NUMERICAL, profile.rows, n)
        )
        for n in n_values
    }


def _numeric_method(column: str, streamed: Streamed, config: DriftConfig) -> str:
    """The method of a numerical column, from the distinct values of both samples."""
    rp, cp = streamed.profile.profiles[column], streamed.cur.profiles[column]
    union = None if rp.counts is None or cp.counts is None else rp.counts.keys() | cp.counts.keys()
    n_values = len(union) if union is not None else REFERENCE_DISTINCT + 1
    default = stats.default_method(stats.NUMERICAL, rp.rows, n_values)
    return config.method_for(column, stats.NUMERICAL, default)


def _bin_coarsely(streamed: Streamed, methods: dict[str, str]) -> None:
    """Jensen-Shannon and PSI on continuous columns compare Sturges bins of the combined range:
    one more pass over each sample fills ``streamed.binned`` for those columns."""
    coarse = {}
    for column, method in methods.items():
        rp, cp = streamed.profile.profiles[column], streamed.cur.profiles[column]
        few = rp.counts is not None and len(rp.counts) <= stats.BINNING_MIN_VALUES
        if method in ("jensenshannon", "psi") and not few:
            low, high = min(rp.low, cp.low), max(rp.high, cp.high)
            coarse[column] = stats.sturges_edges(low, high, rp.rows + cp.rows)
    if not coarse:
        return
    names = list(coarse)
    ref = StreamPass("reference", names, [], max_distinct={}, coarse=coarse)
    cur = StreamPass("current", names, [], max_distinct={}, coarse=coarse)
    ref.run(streamed.reference)
    cur.run(streamed.current)
    streamed.binned = {c: stats.Counts([], ref.coarse[c], cur.coarse[c]) for c in names}
