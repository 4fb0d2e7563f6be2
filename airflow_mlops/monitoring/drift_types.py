"""What a drift check is asked (:class:`DriftConfig`) and what it answers (:class:`ColumnDrift`
per column, :class:`DriftResult` with the dataset decision)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from airflow_mlops.errors import ConfigError
from airflow_mlops.inputs import check_bool, check_int, check_number
from airflow_mlops.monitoring import stats

#: default grid size of the streamed Wasserstein histograms
FINE_BINS = 1 << 15


@dataclass(frozen=True)
class DriftConfig:
    """Which test and threshold each column gets, resolved as Evidently's ``DataDriftPreset``:
    per column, then per type (``num_``/``cat_``), then for all columns, then the method's
    default threshold (0.05 for p-values, 0.1 for distances).

    :param drift_share: the dataset drifts when at least this share of columns drift.
    :param method: method for every column (None: Evidently's automatic choice).
    :param fine_bins: grid size of the streamed Wasserstein histograms.
    :param multivariate: also test the numerical columns together (PCA reconstruction error,
        :mod:`~airflow_mlops.monitoring.multivariate`); its drift is a reason to retrain.
    :param multivariate_variance: the share of the reference's variance its components keep.
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
    multivariate: bool = True
    multivariate_variance: float = 0.65

    def __post_init__(self) -> None:
        check_number("drift_share", self.drift_share, 0, 1, exclusive_minimum=True)
        check_bool("multivariate", self.multivariate)
        check_number(
            "multivariate_variance", self.multivariate_variance, 0, 1, exclusive_minimum=True
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
        """Per column: method, threshold, score, drifted (JSON-able: numpy scalars become
        Python numbers and bools, as an XCom or the API needs)."""
        return {
            c.column: {k: _plain(v) for k, v in asdict(c).items() if k != "column"}
            for c in self.columns
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


def _plain(value: Any) -> Any:
    """A numpy scalar as the Python value it holds (``np.bool_`` is not JSON-able)."""
    return value.item() if hasattr(value, "item") and not isinstance(value, str) else value
