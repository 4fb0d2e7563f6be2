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
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from airflow_mlops.errors import ConfigError, DriftError
from airflow_mlops.inputs import check_int, check_number
from airflow_mlops.monitoring import stats
from airflow_mlops.monitoring.sources import Source, prefetched

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

FINE_BINS = 1 << 15
#: scipy's ks_2samp is exact (not asymptotic) when both samples are at most this size
KS_EXACT_MAX_ROWS = 10_000
#: the reference's distinct values are counted up to this many (Evidently's choices need 21)
REFERENCE_DISTINCT = stats.BINNING_MIN_VALUES + 1
#: the current's distinct values of a few-valued reference column are counted up to this many
CURRENT_DISTINCT = 10_000


@dataclass(frozen=True)
class DriftConfig:
    """Which test and threshold each column gets, resolved as Evidently's ``DataDriftPreset``:
    per column, then per type (``num_``/``cat_``), then for all columns, then the method's
    default threshold (0.05 for p-values, 0.1 for distances).

    :param drift_share: the dataset drifts when at least this share of columns drift.
    :param method: method for every column (None: Evidently's automatic choice).
    :param fine_bins: grid size of the streamed Wasserstein histograms.
    """

    drift_share: float = 0.5
    method: str | None = None
    num_method: str | None = None
    cat_method: str | None = None
    per_column_method: Mapping[str, str] = field(default_factory=dict)
    threshold: float | None = None
    num_threshold: float | None = None
    cat_threshold: float | None = None
    per_column_threshold: Mapping[str, float] = field(default_factory=dict)
    fine_bins: int = FINE_BINS

    def __post_init__(self) -> None:
        check_number("drift_share", self.drift_share, 0, 1, exclusive_minimum=True)
        named = [self.method, self.num_method, self.cat_method, *self.per_column_method.values()]
        unknown = sorted({m for m in named if m is not None and m not in stats.METHODS})
        if unknown:
            raise ConfigError(
                f"Unknown drift methods {unknown}.",
                hint=f"Use one of {sorted(stats.METHODS)} (or None for Evidently's default).",
            )
        if self.num_method and self.num_method not in stats.NUMERICAL_METHODS:
            raise ConfigError(
                f"num_method={self.num_method!r} does not apply to numerical columns.",
                hint=f"Use one of {list(stats.NUMERICAL_METHODS)}.",
            )
        if self.cat_method and self.cat_method not in stats.CATEGORICAL_METHODS:
            raise ConfigError(
                f"cat_method={self.cat_method!r} does not apply to categorical columns.",
                hint=f"Use one of {list(stats.CATEGORICAL_METHODS)}.",
            )
        thresholds = [self.threshold, self.num_threshold, self.cat_threshold]
        bad = [t for t in [*thresholds, *self.per_column_threshold.values()] if t is not None]
        if any(
            isinstance(t, bool) or not isinstance(t, int | float) or not 0 < t < math.inf
            for t in bad
        ):
            raise ConfigError(
                f"Drift thresholds must be positive numbers, got {bad}.",
                hint="Use a p-value level (e.g. 0.05) or a distance (e.g. 0.1).",
            )
        check_int("fine_bins", self.fine_bins, 256, 1 << 24)

    def method_for(self, column: str, column_type: str, default: str) -> str:
        typed = self.num_method if column_type == stats.NUMERICAL else self.cat_method
        return self.per_column_method.get(column) or typed or self.method or default

    def threshold_for(self, column: str, column_type: str, method: str) -> float:
        typed = self.num_threshold if column_type == stats.NUMERICAL else self.cat_threshold
        for value in (self.per_column_threshold.get(column), typed, self.threshold):
            if value is not None:
                return float(value)
        return stats.METHODS[method][0]


@dataclass(frozen=True)
class ColumnDrift:
    """The drift test of one column. ``error_bound`` is 0 for exact scores."""

    column: str
    column_type: str
    method: str
    threshold: float
    score: float
    drifted: bool
    reference_rows: int
    current_rows: int
    error_bound: float = 0.0
    recomputed_exactly: bool = False


@dataclass(frozen=True)
class DriftResult:
    """Per-column tests and the dataset decision (share of drifted columns >= ``drift_share``)."""

    columns: list[ColumnDrift]
    drift_share_threshold: float
    reference_rows: int
    current_rows: int
    seconds: float

    @property
    def drifted_columns(self) -> list[str]:
        return [c.column for c in self.columns if c.drifted]

    @property
    def drift_share(self) -> float:
        return len(self.drifted_columns) / len(self.columns)

    @property
    def dataset_drift(self) -> bool:
        return self.drift_share >= self.drift_share_threshold

    def tests(self) -> dict[str, dict[str, Any]]:
        """Per column: method, threshold, score, drifted (JSON-able)."""
        return {
            c.column: {k: v for k, v in asdict(c).items() if k != "column"} for c in self.columns
        }

    def as_dict(self) -> dict[str, Any]:
        return {
            "drift_share": self.drift_share,
            "dataset_drift": self.dataset_drift,
            "drifted_columns": self.drifted_columns,
            "drift_share_threshold": self.drift_share_threshold,
            "reference_rows": self.reference_rows,
            "current_rows": self.current_rows,
            "seconds": round(self.seconds, 3),
            "tests": self.tests(),
        }


class _Profile:
    """Streamed moments, range and (while few) value counts of one numerical column."""

    def __init__(self, max_distinct: int) -> None:
        self.rows, self.low, self.high, self.mean, self.m2 = 0, math.inf, -math.inf, 0.0, 0.0
        self.max_distinct = max_distinct
        self.counts: dict[float, int] | None = {} if max_distinct else None

    @property
    def std(self) -> float:
        return math.sqrt(self.m2 / self.rows) if self.rows else 0.0

    def add(self, n: int, low: float, high: float, mean: float, m2: float | None) -> None:
        """Merge a chunk's size, range and (unless ``m2`` is None) moments (Chan et al.)."""
        if n == 0:
            return
        total = self.rows + n
        if m2 is not None:
            delta = mean - self.mean
            self.m2 += m2 + delta * delta * self.rows * n / total
            self.mean += delta * n / total
        self.rows = total
        self.low, self.high = min(self.low, low), max(self.high, high)

    def count(self, values: np.ndarray) -> None:
        import numpy as np

        if self.counts is None:
            return
        if len(np.unique(values[: 4 * self.max_distinct])) > self.max_distinct:
            self.counts = None
            return
        keys, counts = np.unique(values, return_counts=True)
        for key, count in zip(keys.tolist(), counts.tolist(), strict=True):
            self.counts[key] = self.counts.get(key, 0) + count
        if len(self.counts) > self.max_distinct:
            self.counts = None


class _ValueCounts:
    """Value counts of a categorical column, merged chunk by chunk."""

    def __init__(self) -> None:
        self.counts: dict[Any, int] = {}

    def add(self, values: pd.Series) -> None:
        for key, count in values.value_counts(dropna=True).items():
            if count:
                self.counts[key] = self.counts.get(key, 0) + int(count)

    @property
    def rows(self) -> int:
        return sum(self.counts.values())


def _finite(values: np.ndarray) -> np.ndarray:
    import numpy as np

    return values[np.isfinite(values)]


def _numeric_block(frame: pd.DataFrame, columns: Sequence[str]) -> np.ndarray:
    """The columns as one array: float32 when they all are (exact, half the memory traffic),
    float64 otherwise."""
    import numpy as np

    single = all(dtype == np.float32 for dtype in frame.dtypes[list(columns)])
    try:
        return frame[list(columns)].to_numpy(dtype=np.float32 if single else np.float64)
    except (TypeError, ValueError) as error:
        raise DriftError(
            f"A numerical column among {list(columns)} holds non-numbers: {error}",
            hint="Declare the column categorical, or clean the data before monitoring it.",
        ) from error


def _check_columns(frame: pd.DataFrame, columns: Sequence[str], sample: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise DriftError(
            f"The {sample} data lacks columns {missing}.",
            hint="Monitor only columns both samples have (the model's feature columns).",
            details={"missing": missing, "present": [str(c) for c in frame.columns]},
        )


@dataclass
class _Grid:
    """Fine Wasserstein grids over the reference range of some columns."""

    columns: list[str]
    low: np.ndarray
    high: np.ndarray
    bins: int

    @property
    def width(self) -> np.ndarray:
        return (self.high - self.low) / self.bins


class _Pass:
    """One streamed pass over a sample: profile plus whichever statistics are requested."""

    def __init__(
        self,
        name: str,
        numeric: list[str],
        categorical: list[str],
        *,
        max_distinct: dict[str, int],
        moments: bool = True,
        grid: _Grid | None = None,
        ks: dict[str, np.ndarray] | None = None,
        coarse: dict[str, np.ndarray] | None = None,
        keep_raw: Sequence[str] = (),
    ) -> None:
        import numpy as np

        self.name, self.numeric, self.categorical = name, numeric, categorical
        self.moments, self.rows = moments, 0
        self.profiles = {c: _Profile(max_distinct.get(c, 0)) for c in numeric}
        self.categories = {c: _ValueCounts() for c in categorical}
        self.grid, self.ks_values, self.coarse_edges = grid, ks or {}, coarse or {}
        k = len(grid.columns) if grid else 0
        self.fine = np.zeros(k * grid.bins if grid else 0, dtype=np.int64)
        self.below = np.zeros(k, np.int64)
        self.above = np.zeros(k, np.int64)
        self.below_area = np.zeros(k)
        self.above_area = np.zeros(k)
        self.ks = {
            c: (np.zeros(len(u) + 1, np.int64), np.zeros(len(u), np.int64))
            for c, u in self.ks_values.items()
        }
        self.coarse = {c: np.zeros(len(e) - 1, np.int64) for c, e in self.coarse_edges.items()}
        self.raw: dict[str, list[np.ndarray]] = {c: [] for c in keep_raw}

    def run(self, source: Source) -> _Pass:
        columns = self.numeric + self.categorical
        for frame in prefetched(source(columns)):
            _check_columns(frame, columns, self.name)
            self.add(frame)
        empty = [c for c in self.numeric if self.profiles[c].rows == 0]
        empty += [c for c in self.categorical if self.categories[c].rows == 0]
        if self.rows == 0 or empty:
            raise DriftError(
                f"The {self.name} data is empty"
                + (f": no values in columns {empty}." if self.rows else " (0 rows)."),
                hint="Check that the window (or dataset) holds scored rows before monitoring it.",
                details={"sample": self.name, "rows": self.rows, "empty_columns": empty},
            )
        return self

    def add(self, frame: pd.DataFrame) -> None:
        import numpy as np

        self.rows += len(frame)
        for column in self.categorical:
            self.categories[column].add(frame[column])
        if not self.numeric:
            return
        block = _numeric_block(frame, self.numeric)
        self.chunk_range = dict.fromkeys(self.numeric, (math.inf, -math.inf))
        finite = np.isfinite(block)
        all_finite = bool(finite.all())
        if all_finite:
            self._moments(block)
            columns = {c: block[:, i] for i, c in enumerate(self.numeric)}
        else:
            columns = {c: block[finite[:, i], i] for i, c in enumerate(self.numeric)}
            for column, values in columns.items():
                self._moments(values[:, None], [column])
        for column, values in columns.items():
            self.profiles[column].count(values)
            if column in self.raw:
                self.raw[column].append(values.copy())
        if self.grid and self.grid.columns:
            picked = [self.numeric.index(c) for c in self.grid.columns]
            self._grid(block[:, picked], None if all_finite else finite[:, picked], columns)
        for column, unique in self.ks_values.items():
            values = columns[column]
            slot = np.searchsorted(unique, values, side="right")
            equal = (slot > 0) & (unique[np.maximum(slot - 1, 0)] == values)
            below, at = self.ks[column]
            below += np.bincount(slot, minlength=below.size)
            at += np.bincount(slot[equal] - 1, minlength=at.size)
        for column, edges in self.coarse_edges.items():
            self.coarse[column] += np.histogram(columns[column], edges)[0]

    def _moments(self, block: np.ndarray, names: Sequence[str] | None = None) -> None:
        import numpy as np

        if len(block) == 0:
            return
        low, high = block.min(axis=0), block.max(axis=0)
        mean = block.mean(axis=0, dtype=np.float64)
        m2 = None
        if self.moments:
            m2 = np.square(block - mean.astype(block.dtype)).sum(axis=0, dtype=np.float64)
        for i, column in enumerate(names or self.numeric):
            self.chunk_range[column] = (float(low[i]), float(high[i]))
            self.profiles[column].add(
                len(block),
                float(low[i]),
                float(high[i]),
                float(mean[i]),
                None if m2 is None else float(m2[i]),
            )

    def _grid(
        self, block: np.ndarray, finite: np.ndarray | None, columns: dict[str, np.ndarray]
    ) -> None:
        """Histogram on the grid; values off the grid are counted apart with their distance
        to it (only in the columns whose chunk range leaves the grid).

        ``columns`` holds each column's finite values (for the tails); ``finite`` masks the
        block (None when every value is finite).
        """
        import numpy as np

        grid = self.grid
        lows = np.array([self.chunk_range[c][0] for c in grid.columns])
        highs = np.array([self.chunk_range[c][1] for c in grid.columns])
        for i in np.flatnonzero(lows < grid.low):
            offset = columns[grid.columns[i]].astype(np.float64) - grid.low[i]
            self.below[i] += int((offset < 0).sum())
            self.below_area[i] -= float(np.fmin(offset, 0).sum())
        for i in np.flatnonzero(highs > grid.high):
            over = columns[grid.columns[i]].astype(np.float64) - grid.high[i]
            self.above[i] += int((over > 0).sum())
            self.above_area[i] += float(np.fmax(over, 0).sum())
        width = grid.width
        scale = np.divide(1.0, width, out=np.zeros_like(width), where=width > 0)
        index = (block - grid.low.astype(block.dtype)) * scale.astype(block.dtype)
        if finite is not None:
            index[~finite] = 0  # counted, then removed below
        np.clip(index, 0, grid.bins - 1, out=index)
        slots = index.astype(np.int32)
        slots += (np.arange(len(grid.columns)) * grid.bins).astype(np.int32)
        self.fine += np.bincount(slots.ravel(order="K"), minlength=self.fine.size)
        if finite is not None:
            self.fine[np.arange(len(grid.columns)) * grid.bins] -= (~finite).sum(axis=0)

    def fine_histogram(self, column: str) -> tuple[np.ndarray, int, int, float, float]:
        """In-grid counts (out-of-grid values removed from the edge bins), and the tails."""
        import numpy as np

        i = self.grid.columns.index(column)
        counts = self.fine[i * self.grid.bins : (i + 1) * self.grid.bins].astype(np.float64)
        counts[0] -= self.below[i]
        counts[-1] -= self.above[i]
        return (
            counts,
            int(self.below[i]),
            int(self.above[i]),
            float(self.below_area[i]),
            float(self.above_area[i]),
        )

    def raw_column(self, column: str) -> np.ndarray:
        import numpy as np

        return np.concatenate(self.raw[column]) if self.raw[column] else np.empty(0)


def _aligned(reference: dict[Any, int], current: dict[Any, int]) -> stats.Counts:
    import numpy as np

    keys = list(dict.fromkeys([*reference, *current]))
    return stats.Counts(
        keys=keys,
        reference=np.array([reference.get(k, 0) for k in keys], dtype=np.float64),
        current=np.array([current.get(k, 0) for k in keys], dtype=np.float64),
    )


def _raw_column(source: Source, column: str) -> np.ndarray:
    import numpy as np

    parts = [_finite(f[column].to_numpy(dtype=np.float64)) for f in source([column])]
    return np.concatenate(parts) if parts else np.empty(0)


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


def _candidate_methods(column: str, profile: _Profile, config: DriftConfig) -> set[str]:
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
    import numpy as np

    config = config or DriftConfig()
    numeric, categorical = list(numerical_columns), list(categorical_columns)
    if not numeric and not categorical:
        raise DriftError("No columns to monitor.", hint="Pass the model's feature columns.")
    started = time.perf_counter()
    distinct = dict.fromkeys(numeric, REFERENCE_DISTINCT)
    profile = _Pass("reference", numeric, categorical, max_distinct=distinct).run(reference)
    candidates = {c: _candidate_methods(c, profile.profiles[c], config) for c in numeric}
    fine = [c for c in numeric if "wasserstein" in candidates[c]]
    grid = _Grid(
        fine,
        np.array([profile.profiles[c].low for c in fine]),
        np.array([profile.profiles[c].high for c in fine]),
        config.fine_bins,
    )
    ks_columns = [c for c in numeric if "ks" in candidates[c]]
    ref = _Pass(
        "reference", numeric, [], max_distinct=distinct, grid=grid, keep_raw=ks_columns
    ).run(reference)
    ks_values, ks_cdf = {}, {}
    for column in ks_columns:
        ks_values[column], counts = np.unique(ref.raw_column(column), return_counts=True)
        ks_cdf[column] = np.cumsum(counts) / counts.sum()
    current_distinct = {
        c: CURRENT_DISTINCT for c in numeric if profile.profiles[c].counts is not None
    }
    cur = _Pass(
        "current", numeric, categorical, max_distinct=current_distinct, grid=grid, ks=ks_values
    ).run(current)

    methods, coarse = {}, {}
    for column in numeric:
        rp, cp = profile.profiles[column], cur.profiles[column]
        union = (
            None if rp.counts is None or cp.counts is None else rp.counts.keys() | cp.counts.keys()
        )
        n_values = len(union) if union is not None else REFERENCE_DISTINCT + 1
        default = stats.default_method(stats.NUMERICAL, rp.rows, n_values)
        methods[column] = config.method_for(column, stats.NUMERICAL, default)
        few = rp.counts is not None and len(rp.counts) <= stats.BINNING_MIN_VALUES
        if methods[column] in ("jensenshannon", "psi") and not few:
            low, high = min(rp.low, cp.low), max(rp.high, cp.high)
            coarse[column] = stats.sturges_edges(low, high, rp.rows + cp.rows)
    binned = {}
    if coarse:
        names = list(coarse)
        ref_bins = _Pass("reference", names, [], max_distinct={}, coarse=coarse).run(reference)
        cur_bins = _Pass("current", names, [], max_distinct={}, coarse=coarse).run(current)
        binned = {c: stats.Counts([], ref_bins.coarse[c], cur_bins.coarse[c]) for c in names}

    results = []
    for column in numeric:
        method = methods[column]
        threshold = config.threshold_for(column, stats.NUMERICAL, method)
        rp, cp = profile.profiles[column], cur.profiles[column]
        bound, exact = 0.0, False
        if column in binned:
            score = _count_score(method, binned[column])
        elif method in ("wasserstein", "ks") and not (
            method == "ks" and max(rp.rows, cp.rows) <= KS_EXACT_MAX_ROWS
        ):
            if method == "wasserstein":
                hist, below, above, below_area, above_area = cur.fine_histogram(column)
                score, bound = stats.wasserstein_binned(
                    ref.fine_histogram(column)[0],
                    hist,
                    float(grid.width[fine.index(column)]),
                    max(rp.std, 0.001),
                    current_below=below,
                    current_above=above,
                    below_area=below_area,
                    above_area=above_area,
                )
                exact = bool(abs(score - threshold) <= bound)
            else:
                below, at = cur.ks[column]
                lt = np.cumsum(below)[:-1].astype(np.float64)
                _, score = stats.ks_from_cdf(ks_cdf[column], lt, lt + at, rp.rows, cp.rows)
        elif method in ("wasserstein", "ks"):
            exact = True
        elif cp.counts is not None:
            score = _count_score(method, _aligned(rp.counts, cp.counts))
        else:
            # a few-valued reference column whose current values are too many to have counted
            ref_keys, ref_counts = np.unique(_raw_column(reference, column), return_counts=True)
            cur_keys, cur_counts = np.unique(_raw_column(current, column), return_counts=True)
            score = _count_score(
                method,
                _aligned(
                    dict(zip(ref_keys.tolist(), ref_counts.tolist(), strict=True)),
                    dict(zip(cur_keys.tolist(), cur_counts.tolist(), strict=True)),
                ),
            )
        if exact:
            # too close to the threshold for the binned score, or small enough for scipy's exact K-S
            score = exact_numeric_score(
                method, _raw_column(reference, column), _raw_column(current, column)
            )
            bound = 0.0
        results.append(
            ColumnDrift(
                column=column,
                column_type=stats.NUMERICAL,
                method=method,
                threshold=threshold,
                score=score,
                drifted=stats.is_drifted(method, score, threshold),
                reference_rows=rp.rows,
                current_rows=cp.rows,
                error_bound=bound,
                recomputed_exactly=exact,
            )
        )
    results += [_categorical_drift(c, profile, cur, config) for c in categorical]
    return DriftResult(
        columns=results,
        drift_share_threshold=config.drift_share,
        reference_rows=profile.rows,
        current_rows=cur.rows,
        seconds=time.perf_counter() - started,
    )


def _count_score(method: str, counts: stats.Counts) -> float:
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


def _categorical_drift(column: str, ref: _Pass, cur: _Pass, config: DriftConfig) -> ColumnDrift:
    reference, current = ref.categories[column], cur.categories[column]
    counts = _aligned(reference.counts, current.counts)
    default = stats.default_method(stats.CATEGORICAL, reference.rows, len(counts.keys))
    method = config.method_for(column, stats.CATEGORICAL, default)
    threshold = config.threshold_for(column, stats.CATEGORICAL, method)
    score = _count_score(method, counts)
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
