"""Shadow comparison: challenger and champion on the same recent production traffic.

Before ``champion`` moves, both models score the rows the champion actually served (the inference
log of the last days, see :mod:`airflow_mlops.monitoring.scoring`). A challenger that wins on the
holdout but disagrees with the champion on much of today's traffic is a warning sign (a feature
the holdout does not exercise, a preprocessing mismatch). When the log holds at least
``min_shadow_rows`` recent rows the gate judges the agreement
(:attr:`~airflow_mlops.model_registry.gate.GateConfig.min_shadow_agreement`, default 0.9) and
the shift of the score distribution (``max_shadow_shift``, default 0.2, Kolmogorov-Smirnov).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from airflow_mlops.errors import DataError
from airflow_mlops.monitoring.scoring import LOG_COLUMNS, log_partition

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

    from airflow_mlops.export.runtime import OnnxPredictor

#: regression outputs agree when they differ by at most this share of the champion's spread
REGRESSION_TOLERANCE = 0.1


@dataclass(frozen=True)
class ShadowResult:
    """How closely the challenger follows the champion on recent traffic.

    :param rows: traffic rows both models scored.
    :param agreement: share of rows with the same predicted class (regression: within
        :data:`REGRESSION_TOLERANCE` of the champion's standard deviation).
    :param mean_abs_diff: mean absolute difference of the outputs (class probabilities:
        half the L1 distance, i.e. total variation; regression: of the predictions); None
        when the two models predict different class sets.
    :param score_shift: the Kolmogorov-Smirnov distance between the two models' score
        distributions on these rows, the largest over the output columns (class probabilities;
        regression: the prediction); None when the class sets differ.
    :param source: the inference-log days read, ``first..last``.
    """

    rows: int
    agreement: float
    mean_abs_diff: float | None
    source: str
    score_shift: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def recent_traffic(
    log_root: str | Path,
    model: str,
    *,
    days: int = 7,
    max_rows: int = 20_000,
    today: dt.date | None = None,
) -> tuple[pd.DataFrame, str] | None:
    """The newest ``max_rows`` rows of ``model``'s inference log over the last ``days`` days,
    and the days they came from; None when the log has no rows in that window."""
    import pandas as pd

    end = today or dt.datetime.now(dt.UTC).date()
    window = [end - dt.timedelta(days=back) for back in range(days)]
    frames, read_days = [], []
    for day in window:  # newest first, so the cap keeps the most recent rows
        files = sorted(log_partition(log_root, model, day).glob("*.parquet"))
        for path in files:
            try:
                frames.append(pd.read_parquet(path))
            except Exception as error:  # pyarrow raises several types for unreadable files
                raise DataError(
                    f"The inference log file {str(path)!r} cannot be read: {error}",
                    hint="Move the damaged file out of the inference log (batch scoring "
                    "rewrites a run's file when the run is retried), or set shadow_days=0.",
                ) from error
        if files:
            read_days.append(day)
        if sum(len(f) for f in frames) >= max_rows:
            break
    if not frames:
        return None
    traffic = pd.concat(frames, ignore_index=True).head(max_rows)
    traffic = traffic.drop(columns=[c for c in LOG_COLUMNS if c in traffic.columns])
    return traffic, f"{min(read_days)}..{max(read_days)}"


def shadow_compare(
    challenger: OnnxPredictor, champion: OnnxPredictor, traffic: pd.DataFrame, source: str
) -> ShadowResult:
    """Score ``traffic`` with both models and measure how often they agree."""
    import numpy as np

    ours, theirs = challenger.predict_proba(traffic), champion.predict_proba(traffic)
    if challenger.task == "regression":
        difference = np.abs(ours[:, 0] - theirs[:, 0])
        tolerance = REGRESSION_TOLERANCE * float(np.std(theirs[:, 0]))
        agree = difference <= tolerance
        mean_abs_diff = float(difference.mean())
        shift = ks_distance(ours[:, 0], theirs[:, 0])
    else:
        labels = np.asarray(challenger.classes)[ours.argmax(axis=1)]
        agree = labels == np.asarray(champion.classes)[theirs.argmax(axis=1)]
        same_classes = list(challenger.classes) == list(champion.classes)
        mean_abs_diff = (
            float(0.5 * np.abs(ours - theirs).sum(axis=1).mean()) if same_classes else None
        )
        shift = (
            max(ks_distance(ours[:, k], theirs[:, k]) for k in range(ours.shape[1]))
            if same_classes
            else None
        )
    return ShadowResult(
        rows=len(traffic),
        agreement=round(float(agree.mean()), 6),
        mean_abs_diff=None if mean_abs_diff is None else round(mean_abs_diff, 6),
        source=source,
        score_shift=None if shift is None else round(shift, 6),
    )


def ks_distance(first: np.ndarray, second: np.ndarray) -> float:
    """The two-sample Kolmogorov-Smirnov statistic: the largest gap between the empirical
    distribution functions of ``first`` and ``second``."""
    import numpy as np

    first, second = np.sort(first), np.sort(second)
    points = np.concatenate([first, second])
    cdf_first = np.searchsorted(first, points, side="right") / len(first)
    cdf_second = np.searchsorted(second, points, side="right") / len(second)
    return float(np.max(np.abs(cdf_first - cdf_second)))
