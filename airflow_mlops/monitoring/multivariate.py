"""Dataset-level drift: a change in how the numerical columns move together, which no
per-column test can see (each column's own distribution may stay the same).

As NannyML's data reconstruction drift: fit a PCA on the standardised reference (missing and
infinite values set to the reference mean), keep the components that explain
``variance`` of it, and measure each row's reconstruction error (the distance between the
standardised row and its projection back from those components). Rows that follow the
reference's correlations are reconstructed well; when the correlations change, the error
grows. The reference is cut into chunks of ``chunk_rows`` rows; the window drifts when its
mean error leaves the band of the reference chunks' mean errors +/- 3 standard deviations.

Streamed: three passes over the reference (means, covariance, errors), one over the window,
each keeping a few numbers per column (a ``d x d`` matrix at most).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from airflow_mlops.monitoring.sources import Source

if TYPE_CHECKING:
    import numpy as np

METHOD = "pca_reconstruction"
#: the band is the reference chunks' mean error +/- this many standard deviations (NannyML's)
BAND_STDS = 3.0
#: the reference is cut into this many chunks unless told otherwise (NannyML's default)
REFERENCE_CHUNKS = 10


@dataclass(frozen=True)
class MultivariateDrift:
    """The reconstruction-error test: the reference band, the window's error, the decision."""

    columns: list[str]
    components: int
    explained_variance: float
    reference_error: float
    lower: float
    upper: float
    current_error: float
    drifted: bool
    reference_rows: int
    current_rows: int
    chunk_rows: int
    method: str = METHOD

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class _Fit:
    """The standardisation and the kept components of the reference."""

    mean: np.ndarray
    std: np.ndarray
    components: np.ndarray
    explained: float


def _matrix(chunk: Any, columns: Sequence[str], fill: np.ndarray | None) -> np.ndarray:
    """The chunk's columns as floats; non-finite values become ``fill`` (NaN when None)."""
    import numpy as np

    values = chunk[list(columns)].to_numpy(dtype=np.float64, na_value=np.nan)
    if fill is not None:
        bad = ~np.isfinite(values)
        values[bad] = np.broadcast_to(fill, values.shape)[bad]
    return values


def _fit(reference: Source, columns: Sequence[str], variance: float) -> _Fit:
    import numpy as np

    d = len(columns)
    total, count = np.zeros(d), np.zeros(d)
    for chunk in reference(columns):
        values = _matrix(chunk, columns, None)
        finite = np.isfinite(values)
        total += np.where(finite, values, 0.0).sum(axis=0)
        count += finite.sum(axis=0)
    mean = total / np.maximum(count, 1)
    rows, sums, products = 0, np.zeros(d), np.zeros((d, d))
    for chunk in reference(columns):
        values = _matrix(chunk, columns, mean) - mean
        rows += len(values)
        sums += values.sum(axis=0)
        products += values.T @ values
    centred = sums / max(rows, 1)
    covariance = products / max(rows, 1) - np.outer(centred, centred)
    std = np.sqrt(np.clip(np.diag(covariance), 0.0, None))
    std[std == 0] = 1.0  # a constant column adds no error
    correlation = covariance / np.outer(std, std)
    eigenvalues, eigenvectors = np.linalg.eigh(correlation)
    order = np.argsort(eigenvalues)[::-1]
    eigenvalues, eigenvectors = np.clip(eigenvalues[order], 0, None), eigenvectors[:, order]
    share = np.cumsum(eigenvalues) / max(eigenvalues.sum(), 1e-12)
    # fewer components than columns, or every row would be reconstructed exactly
    kept = min(int(np.searchsorted(share, variance - 1e-12)) + 1, d - 1)
    return _Fit(mean, std, eigenvectors[:, :kept], float(share[kept - 1]))


def _chunk_errors(
    source: Source, columns: Sequence[str], fit: _Fit, chunk_rows: int
) -> tuple[np.ndarray, np.ndarray]:
    """Per chunk of ``chunk_rows`` consecutive rows: the summed reconstruction error and the
    row count."""
    import numpy as np

    sums, counts = np.zeros(0), np.zeros(0)
    offset = 0
    for chunk in source(columns):
        z = (_matrix(chunk, columns, fit.mean) - fit.mean) / fit.std
        residual = z - (z @ fit.components) @ fit.components.T
        errors = np.sqrt((residual**2).sum(axis=1))
        index = (offset + np.arange(len(errors))) // chunk_rows
        offset += len(errors)
        size = int(index[-1]) + 1 if len(index) else 0
        if size > len(sums):
            sums, counts = (
                np.pad(sums, (0, size - len(sums))),
                np.pad(counts, (0, size - len(counts))),
            )
        sums += np.bincount(index, errors, minlength=len(sums))
        counts += np.bincount(index, minlength=len(counts))
    return sums, counts


def multivariate_drift(
    reference: Source,
    current: Source,
    columns: Sequence[str],
    *,
    variance: float = 0.65,
    chunk_rows: int | None = None,
) -> MultivariateDrift | None:
    """Test whether the numerical ``columns`` move together in ``current`` as in
    ``reference`` (see the module docstring). None for fewer than two columns.

    :param variance: the share of the reference's variance the kept components explain.
    :param chunk_rows: rows per reference chunk; default a tenth of the reference. Pass the
        window's size when it is smaller, so the band fits the noise of a mean over it.
    """
    import numpy as np

    columns = list(columns)
    if len(columns) < 2:
        return None
    fit = _fit(reference, columns, variance)
    rows = sum(len(chunk) for chunk in reference(columns[:1]))
    size = max(chunk_rows or math.ceil(rows / REFERENCE_CHUNKS), 1)
    sums, counts = _chunk_errors(reference, columns, fit, size)
    full = counts >= size / 2  # a short last chunk would widen the band with its own noise
    means = sums[full] / counts[full] if full.any() else sums / np.maximum(counts, 1)
    centre, spread = float(means.mean()), float(means.std())
    current_sums, current_counts = _chunk_errors(current, columns, fit, size)
    current_rows = int(current_counts.sum())
    current_error = float(current_sums.sum() / max(current_rows, 1))
    lower, upper = centre - BAND_STDS * spread, centre + BAND_STDS * spread
    return MultivariateDrift(
        columns=columns,
        components=int(fit.components.shape[1]),
        explained_variance=fit.explained,
        reference_error=centre,
        lower=lower,
        upper=upper,
        current_error=current_error,
        drifted=not lower <= current_error <= upper,
        reference_rows=rows,
        current_rows=current_rows,
        chunk_rows=size,
    )
