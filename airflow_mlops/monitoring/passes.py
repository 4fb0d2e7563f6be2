"""The reading loop: one streamed pass over a sample, keeping the statistics a drift check asks
for (profiles, value counts, Wasserstein grid histograms, K-S counts, coarse bins), and what the
passes over both samples keep (:class:`Streamed`)."""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from airflow_mlops.errors import DriftError
from airflow_mlops.monitoring import stats
from airflow_mlops.monitoring.sketches import Grid, Profile, ValueCounts
from airflow_mlops.monitoring.sources import Source, prefetched
from airflow_mlops.task_logs import Progress

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd


log = logging.getLogger(__name__)


class StreamPass:
    """One streamed pass over a sample: profile plus whichever statistics are requested."""

    def __init__(
        self,
        name: str,
        numeric: list[str],
        categorical: list[str],
        *,
        max_distinct: dict[str, int],
        moments: bool = True,
        grid: Grid | None = None,
        ks: dict[str, np.ndarray] | None = None,
        coarse: dict[str, np.ndarray] | None = None,
        keep_raw: Sequence[str] = (),
    ) -> None:
        import numpy as np

        self.name, self.numeric, self.categorical = name, numeric, categorical
        self.moments, self.rows = moments, 0
        self.profiles = {c: Profile(max_distinct.get(c, 0)) for c in numeric}
        self.categories = {c: ValueCounts() for c in categorical}
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

    def run(self, source: Source) -> StreamPass:
        columns = self.numeric + self.categorical
        progress = Progress(log, f"Drift pass over the {self.name} data:")
        for frame in prefetched(source(columns)):
            _check_columns(frame, columns, self.name)
            self.add(frame)
            progress.add(len(frame))
        progress.done()
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


def raw_column(source: Source, column: str) -> np.ndarray:
    """A column's finite values, read in a pass of their own (for an exact score)."""
    import numpy as np

    parts = [_finite(f[column].to_numpy(dtype=np.float64)) for f in source([column])]
    return np.concatenate(parts) if parts else np.empty(0)


@dataclass
class Streamed:
    """What the passes over both samples keep: the reference's profile, the reference and
    current statistics, the Wasserstein grid, the reference's K-S steps, and the coarse bins of
    the columns that need them (filled by a second pass)."""

    reference: Source
    current: Source
    profile: StreamPass
    ref: StreamPass
    cur: StreamPass
    grid: Grid
    ks_cdf: dict[str, np.ndarray]
    binned: dict[str, stats.Counts] = field(default_factory=dict)
