"""Evidently 0.7's per-column drift tests, computed from aggregated counts instead of raw rows.

Each function reproduces the legacy Evidently stattest of the same name
(``evidently.legacy.calculations.stattests``) from sufficient statistics that can be
accumulated chunk by chunk: value counts, histograms and the current sample's CDF at the
reference values. :func:`default_method` reproduces Evidently's automatic method choice.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

NUMERICAL = "num"
CATEGORICAL = "cat"

#: method name -> (default threshold, kind of score: "p_value" drifts below, "distance" at/above)
METHODS: dict[str, tuple[float, str]] = {
    "wasserstein": (0.1, "distance"),
    "ks": (0.05, "p_value"),
    "jensenshannon": (0.1, "distance"),
    "psi": (0.1, "distance"),
    "chisquare": (0.05, "p_value"),
    "z": (0.05, "p_value"),
}
#: methods that apply to each column type
NUMERICAL_METHODS = ("wasserstein", "ks", "jensenshannon", "psi")
CATEGORICAL_METHODS = ("jensenshannon", "psi", "chisquare", "z")
#: a reference larger than this switches Evidently from tests (K-S, chi-square) to distances
SMALL_REFERENCE_ROWS = 1000
#: a numerical column with at most this many distinct values is treated as discrete
DISCRETE_MAX_VALUES = 5
#: get_binned_data histograms a numerical column only above this many reference values
BINNING_MIN_VALUES = 20


def default_method(column_type: str, reference_rows: int, n_values: int) -> str:
    """Evidently's automatic method for a column (``_get_default_stattest``).

    :param column_type: :data:`NUMERICAL` or :data:`CATEGORICAL`.
    :param reference_rows: non-missing reference values.
    :param n_values: distinct non-missing values in reference and current together.
    """
    small = reference_rows <= SMALL_REFERENCE_ROWS
    if column_type == NUMERICAL and n_values > DISCRETE_MAX_VALUES:
        return "ks" if small else "wasserstein"
    if small:
        return "chisquare" if n_values > 2 else "z"
    return "jensenshannon"


def is_drifted(method: str, score: float, threshold: float) -> bool:
    """Evidently's decision: a p-value below, or a distance at or above, the threshold."""
    return bool(score < threshold if METHODS[method][1] == "p_value" else score >= threshold)


@dataclass(frozen=True)
class Counts:
    """Aligned value counts of one column: ``keys`` and their counts in each sample."""

    keys: list[object]
    reference: np.ndarray
    current: np.ndarray


def chisquare_p(counts: Counts) -> float:
    """Chi-square goodness of fit of current counts to reference frequencies."""
    from scipy.stats import chisquare

    expected = counts.reference * (counts.current.sum() / counts.reference.sum())
    return float(chisquare(counts.current, expected)[1])


def z_p(counts: Counts) -> float:
    """Two-sided z-test of the share of the first (sorted) key, as Evidently's ``z`` test."""
    from scipy.stats import norm

    if len(counts.keys) == 1:
        return 1.0
    first = counts.keys.index(sorted(counts.keys)[0])
    n1, n2 = float(counts.reference.sum()), float(counts.current.sum())
    p1 = (n1 - counts.reference[first]) / n1
    p2 = (n2 - counts.current[first]) / n2
    pooled = (p1 * n1 + p2 * n2) / (n1 + n2)
    z = (p1 - p2) / math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    return float(2 * (1 - norm.cdf(abs(z))))


def shares(reference: np.ndarray, current: np.ndarray, fill_zeroes: bool) -> tuple:
    """Bin shares of two count vectors; zeros replaced as in Evidently's ``get_binned_data``."""
    import numpy as np

    ref = reference / reference.sum()
    cur = current / current.sum()
    if fill_zeroes:
        for part in (ref, cur):
            smallest = part[part != 0].min()
            np.place(part, part == 0, smallest / 10**6 if smallest <= 0.0001 else 0.0001)
    return ref, cur


def jensenshannon(reference: np.ndarray, current: np.ndarray) -> float:
    """Jensen-Shannon distance (natural log) of two binned distributions."""
    from scipy.spatial import distance

    ref, cur = shares(reference, current, fill_zeroes=False)
    return float(distance.jensenshannon(ref, cur))


def psi(reference: np.ndarray, current: np.ndarray) -> float:
    """Population stability index of two binned distributions."""
    import numpy as np

    ref, cur = shares(reference, current, fill_zeroes=True)
    return float(np.sum((ref - cur) * np.log(ref / cur)))


def sturges_edges(low: float, high: float, rows: int) -> np.ndarray:
    """The edges ``np.histogram_bin_edges(data, "sturges")`` gives for ``rows`` values in
    ``[low, high]`` (numpy only looks at the range and the size)."""
    import numpy as np

    bins = int(np.ceil(np.log2(rows) + 1.0))
    return np.histogram_bin_edges(np.array([low, high]), bins=bins)


def wasserstein_binned(
    reference: np.ndarray,
    current: np.ndarray,
    width: float,
    norm: float,
    *,
    current_below: int = 0,
    current_above: int = 0,
    below_area: float = 0.0,
    above_area: float = 0.0,
) -> tuple[float, float]:
    """Normed first Wasserstein distance from histograms on a grid over the reference range.

    ``W1 = integral of |F_ref - F_cur|``. Below and above the grid the reference CDF is 0 and
    1, so those parts are exact: the summed distances of the current values outside the grid
    (``below_area``, ``above_area``) over the current size. Inside a bin both CDFs are taken as
    linear; the true difference stays within ``[D_i - q_i, D_i + p_i]`` over bin ``i`` (``p``,
    ``q`` its shares), so the error is at most ``width * sum(p_i + q_i) <= 2 * width``. Bin
    indices computed in float32 may put a value one bin off, which moves the distance by at
    most one more ``width``: the bound returned is ``3 * width / norm``.

    :param reference: reference counts per bin (every reference value is on the grid).
    :param current: current counts per bin, values off the grid excluded.
    :returns: (the normed distance, the bound on its absolute error), both divided by ``norm``.
    """
    import numpy as np

    rows = current.sum() + current_below + current_above
    p = reference / reference.sum()
    q = current / rows
    diff = np.concatenate(([0.0], np.cumsum(p - q))) - current_below / rows
    left, right = diff[:-1], diff[1:]
    same_sign = left * right >= 0
    span = np.abs(left) + np.abs(right)
    crossing = np.divide(left**2 + right**2, 2 * span, out=np.zeros_like(span), where=span > 0)
    inside = float((np.where(same_sign, span / 2, crossing) * width).sum())
    outside = (below_area + above_area) / rows
    return (inside + outside) / norm, 3 * width / norm


def ks_from_cdf(
    reference_cdf_le: np.ndarray,
    current_lt: np.ndarray,
    current_le: np.ndarray,
    reference_rows: int,
    current_rows: int,
) -> tuple[float, float]:
    """Exact two-sample K-S statistic and Smirnov's asymptotic p-value (scipy's ``asymp``).

    The CDFs are step functions; their difference changes only at data points, so its
    supremum is reached at a reference value ``u_j`` (right limits) or just before one (the
    last current value below it). Given, for the sorted distinct reference values, the
    reference CDF at ``u_j`` and the current counts ``< u_j`` and ``<= u_j``, D is exact.
    """
    import numpy as np
    from scipy.stats import distributions

    before = np.concatenate(([0.0], reference_cdf_le[:-1]))
    d = max(
        float(np.max(np.abs(reference_cdf_le - current_le / current_rows))),
        float(np.max(np.abs(before - current_lt / current_rows))),
    )
    m, n = sorted([float(reference_rows), float(current_rows)], reverse=True)
    p_value = distributions.kstwo.sf(d, np.round(m * n / (m + n)))
    return d, float(np.clip(p_value, 0, 1))
