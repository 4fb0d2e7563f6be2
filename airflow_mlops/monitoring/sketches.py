"""Fixed-size sufficient statistics of streamed columns, merged chunk by chunk: a numerical
column's moments, range and (while few) value counts, a categorical column's value counts, and
the fine grid over a reference range that the Wasserstein histograms use."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from airflow_mlops.monitoring import stats

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd


class Profile:
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


class ValueCounts:
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


@dataclass
class Grid:
    """Fine Wasserstein grids over the reference range of some columns."""

    columns: list[str]
    low: np.ndarray
    high: np.ndarray
    bins: int

    @property
    def width(self) -> np.ndarray:
        return (self.high - self.low) / self.bins


def aligned(reference: dict[Any, int], current: dict[Any, int]) -> stats.Counts:
    """Two value counts on the union of their keys (reference keys first)."""
    import numpy as np

    keys = list(dict.fromkeys([*reference, *current]))
    return stats.Counts(
        keys=keys,
        reference=np.array([reference.get(k, 0) for k in keys], dtype=np.float64),
        current=np.array([current.get(k, 0) for k in keys], dtype=np.float64),
    )
