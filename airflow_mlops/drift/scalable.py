"""Per-column data drift at scale, with the same decisions as Evidently 0.7 on the full data.

Evidently's ``DataDriftPreset`` needs both samples in memory as DataFrames and sorts each column
(Wasserstein) or builds full-size histograms of the concatenation; at 10M rows that is minutes
and many GB. This module streams both samples in chunks, twice:

1. **Profile pass**: per column the non-missing count, min, max, mean and variance (Chan's
   parallel update), and the distinct values up to 21 (enough for Evidently's method choice);
   value counts of categorical columns.
2. **Statistics pass**, only what the chosen method needs:

   - ``wasserstein``: a 32,768-bin histogram of each sample on one grid over the combined range.
     The normed distance is integrated from the two CDFs; its absolute error is at most
     ``2 * bin_width / std_ref`` (see :func:`~airflow_mlops.drift.stats.wasserstein_binned`),
     about 6e-4 for a column spanning 10 standard deviations. When the score is within that
     bound of the threshold, the column is recomputed exactly (scipy on the full column), so
     the decision is always Evidently's.
   - ``ks``: exact. The current sample's counts below and at each distinct reference value
     (``searchsorted`` + ``bincount``) give the exact statistic; Smirnov's asymptotic p-value
     as scipy uses for large samples (both samples of at most 10,000 rows go to scipy as they
     are, since scipy then uses its exact distribution).
   - ``jensenshannon``, ``psi`` (numerical): exact counts on Evidently's Sturges bins of the
     combined range, or value counts when the reference has at most 20 distinct values.
   - ``chisquare``, ``z``, and every categorical method: exact value counts.

NaN and infinite values are dropped first, as Evidently does.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from airflow_mlops.drift import stats
from airflow_mlops.drift.sources import Source
from airflow_mlops.errors import ConfigError, DriftError

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

FINE_BINS = 1 << 15
#: scipy's ks_2samp is exact (not asymptotic) when both samples are at most this size
KS_EXACT_MAX_ROWS = 10_000
DISTINCT_TRACKED = stats.BINNING_MIN_VALUES + 1


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
        if not 0 < self.drift_share <= 1:
            raise ConfigError(
                f"drift_share={self.drift_share!r} is not in (0, 1].",
                hint="Give the share of drifted columns that means dataset drift, e.g. 0.5.",
            )
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
        if any(not (isinstance(t, int | float) and t > 0) for t in bad):
            raise ConfigError(
                f"Drift thresholds must be positive numbers, got {bad}.",
                hint="Use a p-value level (e.g. 0.05) or a distance (e.g. 0.1).",
            )
        if self.fine_bins < 256:
            raise ConfigError(f"fine_bins={self.fine_bins} is too coarse; use at least 256.")

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


@dataclass
class _NumericProfile:
    rows: int = 0
    low: float = math.inf
    high: float = -math.inf
    mean: float = 0.0
    m2: float = 0.0
    distinct: set[float] | None = field(default_factory=set)  # None once over the cap

    @property
    def std(self) -> float:
        return math.sqrt(self.m2 / self.rows) if self.rows else 0.0

    def add(self, values: np.ndarray) -> None:
        import numpy as np

        if values.size == 0:
            return
        n, mean = values.size, float(values.mean())
        m2 = float(np.square(values - mean).sum())
        total = self.rows + n
        delta = mean - self.mean
        self.m2 += m2 + delta * delta * self.rows * n / total
        self.mean += delta * n / total
        self.rows = total
        self.low = min(self.low, float(values.min()))
        self.high = max(self.high, float(values.max()))
        if self.distinct is not None:
            head = np.unique(values[: 4 * DISTINCT_TRACKED])
            if len(self.distinct | set(head.tolist())) > DISTINCT_TRACKED:
                self.distinct = None
                return
            self.distinct |= set(np.unique(values).tolist())
            if len(self.distinct) > DISTINCT_TRACKED:
                self.distinct = None


class _ValueCounts:
    """Value counts of a column, merged chunk by chunk."""

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
    import numpy as np

    try:
        return frame[list(columns)].to_numpy(dtype=np.float64)
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


class _Sample:
    """The streamed profile and statistics of one sample (reference or current)."""

    def __init__(self, name: str, source: Source, numeric: list[str], categorical: list[str]):
        self.name, self.source = name, source
        self.numeric, self.categorical = numeric, categorical
        self.profiles = {c: _NumericProfile() for c in numeric}
        self.categories = {c: _ValueCounts() for c in categorical}
        self.rows = 0

    def profile(self) -> None:
        columns = self.numeric + self.categorical
        for frame in self.source(columns):
            _check_columns(frame, columns, self.name)
            self.rows += len(frame)
            if self.numeric:
                block = _numeric_block(frame, self.numeric)
                for i, column in enumerate(self.numeric):
                    self.profiles[column].add(_finite(block[:, i]))
            for column in self.categorical:
                self.categories[column].add(frame[column])
        empty = [c for c in self.numeric if self.profiles[c].rows == 0]
        empty += [c for c in self.categorical if self.categories[c].rows == 0]
        if self.rows == 0 or empty:
            raise DriftError(
                f"The {self.name} data is empty"
                + (f": no values in columns {empty}." if self.rows else " (0 rows)."),
                hint="Check the window (or dataset) holds scored rows before monitoring it.",
                details={"sample": self.name, "rows": self.rows, "empty_columns": empty},
            )


@dataclass
class _Plan:
    """The method of each numerical column and what the statistics pass computes for it."""

    methods: dict[str, str] = field(default_factory=dict)
    fine: list[str] = field(default_factory=list)  # wasserstein, on a grid from low by width
    low: list[float] = field(default_factory=list)
    width: list[float] = field(default_factory=list)
    ks: dict[str, np.ndarray] = field(default_factory=dict)  # sorted distinct reference values
    ks_cdf: dict[str, np.ndarray] = field(default_factory=dict)  # reference CDF at those values
    coarse: dict[str, np.ndarray] = field(default_factory=dict)  # Sturges edges
    counted: list[str] = field(default_factory=list)  # value counts


def _plan(ref: _Sample, cur: _Sample, reference: Source, config: DriftConfig) -> _Plan:
    """Resolve each numerical column's method from the profiles, as Evidently would."""
    import numpy as np

    plan = _Plan()
    for column in ref.numeric:
        rp, cp = ref.profiles[column], cur.profiles[column]
        union = None if rp.distinct is None or cp.distinct is None else rp.distinct | cp.distinct
        n_values = len(union) if union is not None else DISTINCT_TRACKED + 1
        default = stats.default_method(stats.NUMERICAL, rp.rows, n_values)
        method = plan.methods[column] = config.method_for(column, stats.NUMERICAL, default)
        low, high = min(rp.low, cp.low), max(rp.high, cp.high)
        few_reference = rp.distinct is not None and len(rp.distinct) <= stats.BINNING_MIN_VALUES
        if method == "wasserstein":
            plan.fine.append(column)
            plan.low.append(low)
            plan.width.append((high - low) / config.fine_bins)
        elif method == "ks":
            values, counts = np.unique(_raw_column(reference, column), return_counts=True)
            plan.ks[column] = values
            plan.ks_cdf[column] = np.cumsum(counts) / counts.sum()
        elif method in ("chisquare", "z") or few_reference:
            plan.counted.append(column)
        else:
            plan.coarse[column] = stats.sturges_edges(low, high, rp.rows + cp.rows)
    return plan


class _Accumulator:
    """Pass-two statistics of one sample for a plan."""

    def __init__(self, plan: _Plan, bins: int) -> None:
        import numpy as np

        self.plan, self.bins = plan, bins
        self.low = np.array(plan.low, dtype=np.float64)
        self.width = np.array(plan.width, dtype=np.float64)
        self.fine = np.zeros(len(plan.fine) * bins, dtype=np.int64)
        self.ks = {
            c: (np.zeros(len(u) + 1, np.int64), np.zeros(len(u), np.int64))
            for c, u in plan.ks.items()
        }
        self.coarse = {c: np.zeros(len(e) - 1, np.int64) for c, e in plan.coarse.items()}
        self.counted = {c: _ValueCounts() for c in plan.counted}

    def columns(self) -> list[str]:
        return list(
            dict.fromkeys([*self.plan.fine, *self.plan.ks, *self.plan.coarse, *self.plan.counted])
        )

    def add(self, frame: pd.DataFrame) -> None:
        import numpy as np

        if self.plan.fine:
            block = _numeric_block(frame, self.plan.fine)
            scale = np.divide(1.0, self.width, out=np.zeros_like(self.width), where=self.width > 0)
            index = np.floor((block - self.low) * scale)
            ok = np.isfinite(index)
            np.clip(index, 0, self.bins - 1, out=index, where=ok)
            index += np.arange(len(self.plan.fine)) * self.bins
            self.fine += np.bincount(index[ok].astype(np.int64), minlength=self.fine.size)
        for column, unique in self.plan.ks.items():
            values = _finite(frame[column].to_numpy(dtype=np.float64))
            slot = np.searchsorted(unique, values, side="right")
            equal = (slot > 0) & (unique[np.maximum(slot - 1, 0)] == values)
            below, at = self.ks[column]
            below += np.bincount(slot, minlength=below.size)
            at += np.bincount(slot[equal] - 1, minlength=at.size)
        for column, edges in self.plan.coarse.items():
            values = _finite(frame[column].to_numpy(dtype=np.float64))
            self.coarse[column] += np.histogram(values, edges)[0]
        for column, counts in self.counted.items():
            counts.add(frame[column])

    def run(self, source: Source) -> _Accumulator:
        columns = self.columns()
        if columns:
            for frame in source(columns):
                self.add(frame)
        return self

    def fine_histogram(self, column: str) -> np.ndarray:
        i = self.plan.fine.index(column)
        return self.fine[i * self.bins : (i + 1) * self.bins]


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
    ref = _Sample("reference", reference, numeric, categorical)
    cur = _Sample("current", current, numeric, categorical)
    ref.profile()
    cur.profile()

    plan = _plan(ref, cur, reference, config)
    ref_stats = _Accumulator(plan, config.fine_bins).run(reference)
    cur_stats = _Accumulator(plan, config.fine_bins).run(current)
    results = [_numeric_drift(c, plan, (ref, cur), (ref_stats, cur_stats), config) for c in numeric]
    results += [_categorical_drift(c, ref, cur, config) for c in categorical]
    return DriftResult(
        columns=results,
        drift_share_threshold=config.drift_share,
        reference_rows=ref.rows,
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


def _numeric_drift(
    column: str,
    plan: _Plan,
    samples: tuple[_Sample, _Sample],
    accumulated: tuple[_Accumulator, _Accumulator],
    config: DriftConfig,
) -> ColumnDrift:
    import numpy as np

    ref, cur = samples
    rp, cp = ref.profiles[column], cur.profiles[column]
    method = plan.methods[column]
    threshold = config.threshold_for(column, stats.NUMERICAL, method)
    bound, exact = 0.0, False
    if column in plan.fine:
        score, bound = stats.wasserstein_binned(
            accumulated[0].fine_histogram(column),
            accumulated[1].fine_histogram(column),
            plan.width[plan.fine.index(column)],
            max(rp.std, 0.001),
        )
        exact = abs(score - threshold) <= bound
    elif column in plan.ks:
        exact = max(rp.rows, cp.rows) <= KS_EXACT_MAX_ROWS
        if not exact:
            below, at = accumulated[1].ks[column]
            lt = np.cumsum(below)[:-1].astype(np.float64)
            _, score = stats.ks_from_cdf(plan.ks_cdf[column], lt, lt + at, rp.rows, cp.rows)
    elif column in plan.counted:
        score = _count_score(
            method,
            _aligned(accumulated[0].counted[column].counts, accumulated[1].counted[column].counts),
        )
    else:
        score = _count_score(
            method, stats.Counts([], accumulated[0].coarse[column], accumulated[1].coarse[column])
        )
    if exact:
        # too close to the threshold for the binned score, or small enough for scipy's exact K-S
        score = exact_numeric_score(
            method, _raw_column(ref.source, column), _raw_column(cur.source, column)
        )
        bound = 0.0
    return ColumnDrift(
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


def _categorical_drift(column: str, ref: _Sample, cur: _Sample, config: DriftConfig) -> ColumnDrift:
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
