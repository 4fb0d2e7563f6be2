"""The drift check split over partitions of the current data: map, then reduce.

:func:`~airflow_mlops.monitoring.scalable.compute_drift` streams the current sample once; every
statistic that pass keeps is a sum (grid histograms, tails and their areas, K-S counts, value
counts) or merges exactly (moments by Chan's formula, ranges, distinct counts up to a cap). So
the pass can run once per partition (one file of the inference log, one mapped task each), and
the partial sketches merge into the very statistics of a single pass:

1. :func:`save_reference`: the reference's fit (profile, grid histograms, K-S steps), once.
2. :func:`partial_sketch` per partition, written by :func:`save_partial` as an ``.npz`` of
   arrays and one JSON header (no pickle, loaded with ``allow_pickle=False``); only its path
   travels through XCom.
3. :func:`merge_partials`, then :func:`decide`: the same :class:`DriftResult` as the single
   pass, scores equal to float rounding (moments merge in another order).

Two statistics do not merge, and the reduce step reads the current data for them, as the
single pass does after its pass: a score that must be recomputed exactly (a binned Wasserstein
within its error bound of the threshold, K-S on samples of at most 10,000 rows, a few-valued
reference column whose current values were too many to count) reads that one column of every
partition; Jensen-Shannon or PSI on a continuous column needs the combined range first, so those
columns are binned in a second pass over the partitions. Neither happens with Evidently's
default methods on large samples away from the threshold.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from airflow_mlops.errors import DriftError
from airflow_mlops.monitoring import scalable
from airflow_mlops.monitoring.drift_types import DriftConfig, DriftResult
from airflow_mlops.monitoring.passes import Streamed, StreamPass, _check_columns
from airflow_mlops.monitoring.scalable import ReferenceFit
from airflow_mlops.monitoring.scoring import input_chunks
from airflow_mlops.monitoring.sketches import Grid
from airflow_mlops.monitoring.sources import DEFAULT_CHUNK_ROWS, Source, prefetched

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

#: the arrays of a pass that are sums over its rows
_SUMMED = ("fine", "below", "above", "below_area", "above_area")


def files_source(files: Sequence[str | Path], chunk_rows: int = DEFAULT_CHUNK_ROWS) -> Source:
    """A source over CSV or Parquet files, one after the other (a partition, or all of them)."""

    def read(columns: Sequence[str]) -> Iterator[pd.DataFrame]:
        for path in files:
            yield from input_chunks(path, list(columns), chunk_rows)

    return read


def partial_sketch(fit: ReferenceFit, source: Source) -> StreamPass:
    """The current pass over one partition; unlike a whole sample, a partition may be empty."""
    sketch = fit.current_pass()
    columns = sketch.numeric + sketch.categorical
    for frame in prefetched(source(columns)):
        _check_columns(frame, columns, "current")
        sketch.add(frame)
    return sketch


def merge_partials(fit: ReferenceFit, parts: Sequence[StreamPass]) -> StreamPass:
    """One pass's statistics from the partitions' (exactly those of a single pass, moments to
    float rounding)."""
    merged = fit.current_pass()
    for part in parts:
        merged.rows += part.rows
        for name in _SUMMED:
            setattr(merged, name, getattr(merged, name) + getattr(part, name))
        for column, (below, at) in part.ks.items():
            merged.ks[column] = (merged.ks[column][0] + below, merged.ks[column][1] + at)
        for column, profile in part.profiles.items():
            into = merged.profiles[column]
            into.add(profile.rows, profile.low, profile.high, profile.mean, profile.m2)
            if into.counts is not None and profile.counts is None:
                into.counts = None
            elif into.counts is not None:
                for key, count in profile.counts.items():
                    into.counts[key] = into.counts.get(key, 0) + count
                if len(into.counts) > into.max_distinct:
                    into.counts = None
        for column, values in part.categories.items():
            counts = merged.categories[column].counts
            for key, count in values.counts.items():
                counts[key] = counts.get(key, 0) + count
    _check_not_empty(merged)
    return merged


def decide(
    fit: ReferenceFit,
    merged: StreamPass,
    reference: Source,
    current: Source,
    config: DriftConfig | None = None,
) -> DriftResult:
    """The drift decision from the merged sketch (``reference`` and ``current`` are read only
    for the statistics that do not merge, see the module docstring)."""
    started = time.perf_counter()
    streamed = Streamed(reference, current, fit.profile, fit.ref, merged, fit.grid, fit.ks_cdf)
    return scalable.decide(streamed, config or DriftConfig(), started)


def _check_not_empty(merged: StreamPass) -> None:
    empty = [c for c in merged.numeric if merged.profiles[c].rows == 0]
    empty += [c for c in merged.categorical if merged.categories[c].rows == 0]
    if merged.rows == 0 or empty:
        raise DriftError(
            "The current data is empty"
            + (f": no values in columns {empty}." if merged.rows else " (0 rows)."),
            hint="Check that the partitions hold scored rows before monitoring them.",
            details={"sample": "current", "rows": merged.rows, "empty_columns": empty},
        )


# -- artifacts: arrays in an .npz, the rest in its JSON header ---------------------------------


def save_reference(fit: ReferenceFit, path: str | Path) -> Path:
    """Write the reference's fit (read back by :func:`load_reference`)."""
    header = {
        "numeric": fit.numeric,
        "categorical": fit.categorical,
        "grid": {"columns": fit.grid.columns, "bins": fit.grid.bins},
        "ks": list(fit.ks_values),
        "profile": _pass_header(fit.profile),
        "ref": _pass_header(fit.ref),
    }
    arrays = {"grid_low": fit.grid.low, "grid_high": fit.grid.high}
    arrays |= {f"ref_{k}": v for k, v in _pass_arrays(fit.ref).items()}
    for i, column in enumerate(fit.ks_values):
        arrays[f"ks_values_{i}"], arrays[f"ks_cdf_{i}"] = fit.ks_values[column], fit.ks_cdf[column]
    return _save(path, header, arrays)


def load_reference(path: str | Path) -> ReferenceFit:
    """The reference's fit written by :func:`save_reference`."""
    header, arrays = _load(path)
    grid = Grid(
        header["grid"]["columns"], arrays["grid_low"], arrays["grid_high"], header["grid"]["bins"]
    )
    ks_values = {c: arrays[f"ks_values_{i}"] for i, c in enumerate(header["ks"])}
    ks_cdf = {c: arrays[f"ks_cdf_{i}"] for i, c in enumerate(header["ks"])}
    numeric, categorical = header["numeric"], header["categorical"]
    profile = StreamPass("reference", numeric, categorical, max_distinct={})
    _restore(profile, header["profile"], {})
    ref = StreamPass("reference", numeric, [], max_distinct={}, grid=grid)
    _restore(ref, header["ref"], {k[4:]: v for k, v in arrays.items() if k.startswith("ref_")})
    return ReferenceFit(numeric, categorical, profile, ref, grid, ks_values, ks_cdf)


def save_partial(sketch: StreamPass, path: str | Path) -> Path:
    """Write one partition's sketch (read back by :func:`load_partial`)."""
    return _save(path, _pass_header(sketch), _pass_arrays(sketch))


def load_partial(fit: ReferenceFit, path: str | Path) -> StreamPass:
    """One partition's sketch written by :func:`save_partial` for the reference ``fit``."""
    header, arrays = _load(path)
    sketch = fit.current_pass()
    _restore(sketch, header, arrays)
    if sketch.fine.size != len(fit.grid.columns) * fit.grid.bins:
        raise DriftError(
            f"The partial sketch {str(path)!r} was made on another reference grid.",
            hint="Make every partition's sketch and the reduce from the same reference fit.",
        )
    return sketch


def _pass_header(sketch: StreamPass) -> dict[str, Any]:
    return {
        "rows": sketch.rows,
        "profiles": {
            c: {
                "rows": p.rows,
                "low": p.low,
                "high": p.high,
                "mean": p.mean,
                "m2": p.m2,
                "max_distinct": p.max_distinct,
                "counts": None
                if p.counts is None
                else [[_plain(k), n] for k, n in p.counts.items()],
            }
            for c, p in sketch.profiles.items()
        },
        "categories": {
            c: [[_plain(k), int(n)] for k, n in v.counts.items()]
            for c, v in sketch.categories.items()
        },
    }


def _pass_arrays(sketch: StreamPass) -> dict[str, np.ndarray]:
    arrays = {name: getattr(sketch, name) for name in _SUMMED}
    for i, (below, at) in enumerate(sketch.ks.values()):
        arrays[f"ks_below_{i}"], arrays[f"ks_at_{i}"] = below, at
    return arrays


def _restore(sketch: StreamPass, header: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
    sketch.rows = header["rows"]
    for column, state in header["profiles"].items():
        profile = sketch.profiles[column]
        profile.rows, profile.low, profile.high = state["rows"], state["low"], state["high"]
        profile.mean, profile.m2 = state["mean"], state["m2"]
        profile.max_distinct = state["max_distinct"]
        profile.counts = None if state["counts"] is None else dict(map(tuple, state["counts"]))
    for column, pairs in header["categories"].items():
        sketch.categories[column].counts = dict(map(tuple, pairs))
    for name in _SUMMED:
        if name in arrays:
            setattr(sketch, name, arrays[name])
    for i, column in enumerate(sketch.ks):
        if f"ks_below_{i}" in arrays:
            sketch.ks[column] = (arrays[f"ks_below_{i}"], arrays[f"ks_at_{i}"])


def _plain(value: Any) -> Any:
    """A JSON value for a count's key (numpy scalars as Python ones)."""
    return value.item() if hasattr(value, "item") else value


def _save(path: str | Path, header: dict[str, Any], arrays: dict[str, np.ndarray]) -> Path:
    import numpy as np

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as out:
        np.savez(out, header=np.array(json.dumps(header)), **arrays)
    return path


def _load(path: str | Path) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    import numpy as np

    with np.load(path, allow_pickle=False) as data:
        arrays = {name: data[name] for name in data.files}
    return json.loads(str(arrays.pop("header"))), arrays
