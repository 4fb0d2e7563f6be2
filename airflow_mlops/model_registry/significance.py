"""Is the challenger better than the champion by more than the noise of the holdout?

Both models are scored on the same rows, so the comparison is paired: :func:`paired_bootstrap`
resamples the rows (the same resample for both models) and gives a percentile interval of each
model's metric and of their difference; :func:`mcnemar` tests accuracy on the rows where
exactly one of the two is right. Every metric of
:data:`~airflow_mlops.model_registry.gate.DIRECTION` is supported; the resampling is
vectorised (rows x resamples in chunks) and seeded, so a decision is reproducible.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from airflow_mlops.errors import DataError

if TYPE_CHECKING:
    import numpy as np

#: the most row x resample cells one chunk of the bootstrap holds in memory
CHUNK_CELLS = 4_000_000


@dataclass(frozen=True)
class Interval:
    """A point estimate and its bootstrap percentile interval."""

    value: float
    low: float
    high: float

    def flipped(self) -> Interval:
        """The interval of ``-value`` (for metrics where lower is better)."""
        return Interval(-self.value, -self.high, -self.low)

    def contains_zero(self) -> bool:
        return self.low <= 0 <= self.high

    def text(self, digits: int = 4) -> str:
        return f"{self.value:+.{digits}f} [{self.low:+.{digits}f}, {self.high:+.{digits}f}]"


@dataclass(frozen=True)
class PairedComparison:
    """Challenger and champion on the same rows: each model's metric and the difference.

    ``difference`` is challenger minus champion in the metric's own units; ``improvement`` is
    the difference signed so that positive means better (flipped for log_loss, rmse, mae).
    """

    metric: str
    rows: int
    confidence: float
    resamples: int
    challenger: Interval
    champion: Interval
    difference: Interval
    improvement: Interval

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class McNemar:
    """McNemar's test on paired correctness: ``better`` rows only the challenger gets right,
    ``worse`` rows only the champion gets right; exact two-sided binomial p-value and mid-p."""

    better: int
    worse: int
    p_value: float
    mid_p_value: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def mcnemar(challenger_correct: np.ndarray, champion_correct: np.ndarray) -> McNemar:
    """McNemar's exact test of two classifiers' correctness on the same rows."""
    import numpy as np
    from scipy import stats

    a = np.asarray(challenger_correct, dtype=bool)
    b = np.asarray(champion_correct, dtype=bool)
    better, worse = int(np.sum(a & ~b)), int(np.sum(~a & b))
    n, k = better + worse, min(better, worse)
    if n == 0:
        return McNemar(better, worse, 1.0, 1.0)
    exact = min(1.0, 2 * float(stats.binom.cdf(k, n, 0.5)))
    mid = min(1.0, exact - float(stats.binom.pmf(k, n, 0.5)) * (1 if better != worse else 0.5))
    return McNemar(better, worse, exact, mid)


#: the metric of the (resampled) means of per-row statistics, ``(..., k) -> (...)``
Reduce = Callable[["np.ndarray"], "np.ndarray"]


def _rows_and_reduce(metric: str, truth: Any, scores: Any, classes: Any) -> tuple[Any, Reduce]:
    """Per-row statistics ``(n, k)`` of one model and the reduction of their means to the
    metric (``(..., k) -> (...)``)."""
    import numpy as np

    if metric in ("rmse", "mae", "r2"):
        error = scores[:, 0] - truth.astype(float)
        if metric == "mae":
            return np.abs(error)[:, None], lambda m: m[..., 0]
        if metric == "rmse":
            return (error**2)[:, None], lambda m: np.sqrt(m[..., 0])
        y = truth.astype(float)
        stats = np.stack([error**2, y, y**2], axis=1)

        def r2(m: np.ndarray) -> np.ndarray:
            variance = m[..., 2] - m[..., 1] ** 2
            with np.errstate(divide="ignore", invalid="ignore"):
                return np.where(variance > 0, 1 - m[..., 0] / variance, np.nan)

        return stats, r2
    labels = np.asarray(classes if len(classes) else range(scores.shape[1]))
    predicted = _predicted(scores, classes)
    if metric == "accuracy":
        return (predicted == truth).astype(float)[:, None], lambda m: m[..., 0]
    if metric == "log_loss":
        index = {label: i for i, label in enumerate(labels.tolist())}
        columns = np.array([index[value] for value in truth.tolist()])
        # as scikit-learn's log_loss: clip to the dtype's epsilon, then renormalise
        eps = np.finfo(scores.dtype if scores.dtype.kind == "f" else np.float64).eps
        clipped = np.clip(scores, eps, 1 - eps)
        probabilities = clipped / clipped.sum(axis=1, keepdims=True)
        true_p = probabilities[np.arange(len(truth)), columns]
        return (-np.log(true_p))[:, None], lambda m: m[..., 0]
    if metric == "f1":
        positives = labels[-1:] if len(labels) == 2 else labels
        stats = np.concatenate(
            [
                np.stack(
                    [
                        (predicted == c) & (truth == c),
                        (predicted == c) & (truth != c),
                        (predicted != c) & (truth == c),
                    ],
                    axis=1,
                )
                for c in positives
            ],
            axis=1,
        ).astype(float)

        def f1(m: np.ndarray) -> np.ndarray:
            tp, fp, fn = m[..., 0::3], m[..., 1::3], m[..., 2::3]
            denominator = 2 * tp + fp + fn
            with np.errstate(divide="ignore", invalid="ignore"):
                per_class = np.where(denominator > 0, 2 * tp / denominator, 0.0)
            return per_class.mean(axis=-1)

        return stats, f1
    raise DataError(f"The paired test does not support metric {metric!r}.")


def _predicted(scores: np.ndarray, classes: list[Any] | None) -> np.ndarray:
    """The predicted class of each row of class probabilities."""
    import numpy as np

    labels = np.asarray(classes if classes is not None and len(classes) else range(scores.shape[1]))
    return labels[scores.argmax(axis=1)]


def paired_bootstrap(
    metric: str,
    direction: int,
    truth: np.ndarray,
    challenger_scores: np.ndarray,
    champion_scores: np.ndarray,
    classes: list[Any] | None = None,
    *,
    champion_classes: list[Any] | None = None,
    confidence: float = 0.95,
    resamples: int = 2000,
    seed: int = 0,
) -> PairedComparison:
    """Percentile intervals of both models' ``metric`` and of their difference, from
    ``resamples`` resamples of the rows shared by both models.

    :param direction: +1 when higher is better, -1 when lower is better.
    :param truth: the label of each row.
    :param challenger_scores: probabilities ``(n, classes)`` or predictions ``(n, 1)``.
    :param classes: the class labels of the challenger's score columns (classification).
    :param champion_classes: the champion's, when they differ (None: the same).
    :raises DataError: fewer than 2 rows, or a metric the test does not support.
    """
    import numpy as np

    truth = np.asarray(truth)
    n = len(truth)
    if n < 2:
        raise DataError(f"A paired test needs at least 2 rows, got {n}.")
    if metric == "roc_auc":
        stats = _roc_auc_rows(truth, challenger_scores, champion_scores, classes)

        def statistic(rows: np.ndarray | None) -> np.ndarray:
            return _auc_of_resamples(stats, rows)

    else:
        mine, reduce = _rows_and_reduce(metric, truth, challenger_scores, classes or [])
        theirs, _ = _rows_and_reduce(
            metric, truth, champion_scores, champion_classes or classes or []
        )
        stats = np.concatenate([mine, theirs], axis=1)
        width = mine.shape[1]

        def statistic(rows: np.ndarray | None) -> np.ndarray:
            means = stats[None].mean(axis=1) if rows is None else _counts(rows) @ stats / n
            return np.stack([reduce(means[:, :width]), reduce(means[:, width:])], axis=-1)

    point = statistic(None)[0]
    rng = np.random.default_rng(seed)
    chunk = max(1, CHUNK_CELLS // (n * stats.shape[1]))
    draws = [
        statistic(rng.integers(0, n, size=(min(chunk, resamples - start), n)))
        for start in range(0, resamples, chunk)
    ]
    both = np.concatenate(draws, axis=0)
    alpha = 1 - confidence

    def interval(value: float, samples: np.ndarray) -> Interval:
        low, high = np.nanquantile(samples, [alpha / 2, 1 - alpha / 2])
        return Interval(float(value), float(low), float(high))

    difference = interval(point[0] - point[1], both[:, 0] - both[:, 1])
    return PairedComparison(
        metric=metric,
        rows=n,
        confidence=confidence,
        resamples=resamples,
        challenger=interval(point[0], both[:, 0]),
        champion=interval(point[1], both[:, 1]),
        difference=difference,
        improvement=difference if direction > 0 else difference.flipped(),
    )


def _counts(rows: np.ndarray) -> np.ndarray:
    """How often each row occurs in each resample: ``(resamples, n)`` (a bincount and a
    matrix product are several times faster than gathering the rows)."""
    import numpy as np

    count, n = rows.shape
    offsets = (np.arange(count) * n)[:, None]
    return np.bincount((rows + offsets).ravel(), minlength=count * n).reshape(count, n)


def _roc_auc_rows(
    truth: np.ndarray, challenger: np.ndarray, champion: np.ndarray, classes: Any
) -> np.ndarray:
    """Columns ``[is_positive, challenger score, champion score]`` and their AUC pair."""
    import numpy as np

    labels = list(classes) if classes is not None and len(classes) else [0, 1]
    if len(labels) != 2 or challenger.shape[1] != 2:
        raise DataError("The paired test supports roc_auc for binary classifiers only.")
    stats = np.stack([truth == labels[1], challenger[:, 1], champion[:, 1]], axis=1).astype(float)
    return stats


def _auc_of_resamples(stats: np.ndarray, rows: np.ndarray | None = None) -> np.ndarray:
    """Mann-Whitney AUC of both score columns in each resample (ties count half)."""
    import numpy as np
    from scipy.stats import rankdata

    sample = stats[rows] if rows is not None else stats[None, :, :]
    positive = sample[..., 0] > 0.5
    n_pos = positive.sum(axis=-1)
    n_neg = positive.shape[-1] - n_pos
    result = []
    for column in (1, 2):
        ranks = rankdata(sample[..., column], axis=-1)
        u = (ranks * positive).sum(axis=-1) - n_pos * (n_pos + 1) / 2
        with np.errstate(divide="ignore", invalid="ignore"):
            result.append(np.where((n_pos > 0) & (n_neg > 0), u / (n_pos * n_neg), np.nan))
    return np.stack(result, axis=-1)


def min_rows_message(rows: int, needed: int, holdout_fraction: float | None) -> str:
    """Why a holdout of ``rows`` rows cannot be judged, and what to do."""
    fraction = f" (now {holdout_fraction})" if holdout_fraction is not None else ""
    return (
        f"The holdout has {rows} rows; the paired test needs at least {needed}: raise "
        f"holdout_fraction{fraction} or add data (or lower the gate's min_holdout_rows)."
    )


def compare_on_rows(
    metric: str,
    direction: int,
    truth: np.ndarray,
    challenger_scores: np.ndarray,
    champion_scores: np.ndarray,
    classes: list[Any] | None,
    *,
    champion_classes: list[Any] | None = None,
    confidence: float = 0.95,
    resamples: int = 2000,
    slices: np.ndarray | None = None,
    min_slice_rows: int = 10,
) -> dict[str, Any]:
    """The paired comparison the gate judges, as a JSON-able dict: :class:`PairedComparison`
    over all rows, ``mcnemar`` (accuracy only, else None) and ``slices`` (slice value ->
    the comparison on that slice's rows, for slices of at least ``min_slice_rows`` rows)."""

    def compare(rows: np.ndarray | slice) -> PairedComparison:
        return paired_bootstrap(
            metric,
            direction,
            truth[rows],
            challenger_scores[rows],
            champion_scores[rows],
            classes,
            champion_classes=champion_classes,
            confidence=confidence,
            resamples=resamples,
        )

    result = compare(slice(None)).to_dict()
    result["mcnemar"] = None
    if metric == "accuracy":
        result["mcnemar"] = mcnemar(
            _predicted(challenger_scores, classes) == truth,
            _predicted(champion_scores, champion_classes or classes) == truth,
        ).to_dict()
    result["slices"] = {}
    if slices is not None:
        for value in sorted(set(slices.tolist())):
            rows = slices == value
            if rows.sum() >= max(2, min_slice_rows):
                result["slices"][str(value)] = compare(rows).to_dict()
    return result
