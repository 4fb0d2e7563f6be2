"""A model's live performance: labels that arrive after scoring, joined to the inference log on
``prediction_id``; the baseline it is compared with (the model's metric on its holdout); and,
while labels are missing, an estimate from the model's confidence.

The estimate is NannyML's CBPE (confidence-based performance estimation) for accuracy: fit a
calibration of the model's top-class score on the holdout (isotonic, so a calibrated score is
the probability that the prediction is right), then the expected accuracy of a window is the
mean calibrated score of its rows. It needs no label, and it stays right as long as the
relation between the inputs and the label does not change (covariate shift only); a change of
that relation (concept drift) is seen only by measured accuracy. ``nannyml`` itself is not used:
0.13.1 installs within the project's constraints but brings 23 more packages (xgboost with
nvidia-nccl, lightgbm, FLAML, Google Cloud Storage clients, kaleido, and segment-analytics,
which sends usage telemetry unless switched off) for a calculation of a few lines here.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from airflow_mlops.errors import DataError, DriftError
from airflow_mlops.lineage import PARAMS_TAG, SPLIT_RULE_TAG
from airflow_mlops.monitoring.scoring import CONFIDENCE, PREDICTION, PREDICTION_ID
from airflow_mlops.monitoring.sources import Source

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

    from airflow_mlops.data.holdout import SplitRule
    from airflow_mlops.export.runtime import OnnxPredictor

#: examples of bad ids quoted in an error
_EXAMPLES = 5


def score_of(task: str, predictions: Any, labels: Any) -> float:
    """Accuracy (classification) or RMSE (regression)."""
    import numpy as np

    if task == "classification":
        return float(np.mean(np.asarray(predictions) == np.asarray(labels)))
    diff = np.asarray(predictions, dtype=np.float64) - np.asarray(labels, dtype=np.float64)
    return float(np.sqrt(np.mean(diff**2)))


def streamed_score(source: Source, task: str, label: str) -> tuple[float, int] | None:
    """Accuracy or RMSE of ``prediction`` against ``label`` over the labelled rows; None when no
    row has a label."""
    import numpy as np

    hits = squares = 0.0
    rows = 0
    for chunk in source([PREDICTION, label]):
        labelled = chunk[chunk[label].notna()]
        if labelled.empty:
            continue
        rows += len(labelled)
        if task == "classification":
            hits += float((labelled[PREDICTION].to_numpy() == labelled[label].to_numpy()).sum())
        else:
            diff = labelled[PREDICTION].to_numpy(np.float64) - labelled[label].to_numpy(np.float64)
            squares += float((diff**2).sum())
    if rows == 0:
        return None
    return (hits / rows if task == "classification" else float(np.sqrt(squares / rows))), rows


def has_column(files: Sequence[Path], column: str) -> bool:
    """Whether every Parquet file has ``column``."""
    import pyarrow.parquet as pq

    return all(column in pq.ParquetFile(f).schema_arrow.names for f in files)


def performance_drop(reference: float, current: float, task: str) -> float:
    """How much worse ``current`` is: accuracy points lost, or relative RMSE increase."""
    if task == "classification":
        return reference - current
    return (current - reference) / reference if reference else float(current > 0)


def read_labels(
    path: str | Path,
    *,
    label: str,
    task: str,
    classes: Sequence[Any] = (),
    id_column: str = PREDICTION_ID,
) -> pd.Series:
    """The labels that arrived for earlier predictions: a Series of labels indexed by
    ``prediction_id`` (as text). Rows without a label yet are left out.

    :param path: a CSV or Parquet file of ``id_column`` and ``label``.
    :param classes: the model's classes; a classifier's label outside them is refused.
    :raises DataError: missing columns, missing or duplicate ids, labels of the wrong type.
    """
    import pandas as pd

    from airflow_mlops.data.io import read_table

    table = read_table(path, allow_empty=True)
    hint = f"Give a CSV or Parquet file with the columns {id_column!r} and {label!r}."
    missing = [c for c in (id_column, label) if c not in table.columns]
    if missing:
        raise DataError(
            f"Labels file {str(path)!r} lacks columns {missing} "
            f"(it has {list(table.columns)[:20]}).",
            hint=hint,
        )
    ids = table[id_column]
    if ids.isna().any():
        raise DataError(
            f"Labels file {str(path)!r}: {int(ids.isna().sum())} rows have no {id_column!r}.",
            hint="Every label needs the prediction_id that batch scoring logged.",
        )
    ids = ids.astype(str)
    duplicated = ids[ids.duplicated(keep=False)].unique()
    if len(duplicated):
        raise DataError(
            f"Labels file {str(path)!r}: {len(duplicated)} ids appear more than once, "
            f"e.g. {list(duplicated[:_EXAMPLES])}.",
            hint="Keep one label per prediction_id (the latest correction, say).",
            details={"duplicate_ids": len(duplicated)},
        )
    labels = pd.Series(table[label].to_numpy(), index=pd.Index(ids, name=PREDICTION_ID))
    labels = labels[labels.notna()]
    _check_label_type(labels, str(path), task, classes)
    return labels


def _check_label_type(labels: pd.Series, path: str, task: str, classes: Sequence[Any]) -> None:
    """Regression labels are numbers; a classifier's labels are among its classes."""
    import pandas as pd

    if task == "regression":
        numbers = pd.to_numeric(labels, errors="coerce")
        bad = labels[numbers.isna()]
    elif classes:
        known = {str(c) for c in classes}
        bad = labels[~labels.map(lambda value: _class_text(value) in known)]
    else:
        return
    if len(bad):
        expected = "numbers" if task == "regression" else f"one of the classes {list(classes)}"
        raise DataError(
            f"Labels file {path!r}: {len(bad)} labels are not {expected}, e.g. "
            f"{dict(list(bad.head(_EXAMPLES).items()))}.",
            hint="Write the label as the model was trained on it.",
            details={"bad_labels": len(bad)},
        )


def _class_text(value: Any) -> str:
    """A class's text, equal across dtypes (1, 1.0 and "1" are one class)."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def check_label_ids(current: Source, labels: pd.Series, files: Sequence[Path]) -> int:
    """How many labels match a prediction of the window.

    :raises DriftError: the log has no ``prediction_id`` (scored before ids were logged).
    :raises DataError: labels whose ids the window never predicted.
    """
    import numpy as np

    if not has_column(files, PREDICTION_ID):
        raise DriftError(
            f"The inference log has no {PREDICTION_ID!r} column to join labels on.",
            hint="Score with this version of BatchPredictOperator, which logs an id per row.",
        )
    seen = np.zeros(len(labels), dtype=bool)
    for chunk in current([PREDICTION_ID]):
        seen |= labels.index.isin(chunk[PREDICTION_ID].astype(str))
    unknown = labels.index[~seen]
    if len(unknown):
        raise DataError(
            f"{len(unknown)} of {len(labels)} labels have ids that no prediction of the window "
            f"has, e.g. {list(unknown[:_EXAMPLES])}.",
            hint="Check the ids, or widen the window to the days these rows were scored.",
            details={"unknown_ids": len(unknown), "labels": len(labels)},
        )
    return int(seen.sum())


def with_labels(current: Source, labels: pd.Series, label: str) -> Source:
    """``current`` with a ``label`` column joined on ``prediction_id`` (NaN: no label yet)."""

    def read(columns: Sequence[str]) -> Iterator[pd.DataFrame]:
        wanted = [c for c in columns if c != label]
        for chunk in current([*wanted, PREDICTION_ID]):
            joined = labels.reindex(chunk[PREDICTION_ID].astype(str)).to_numpy()
            yield chunk.assign(**{label: joined})

    return read


@dataclass(frozen=True)
class Calibration:
    """A non-decreasing map from a top-class score to the chance the prediction is right
    (isotonic regression, pool-adjacent-violators), linear between its knots."""

    scores: tuple[float, ...]
    chances: tuple[float, ...]

    def __call__(self, scores: np.ndarray) -> np.ndarray:
        import numpy as np

        return np.interp(scores, self.scores, self.chances)


def fit_calibration(scores: np.ndarray, correct: np.ndarray) -> Calibration:
    """The isotonic fit of ``correct`` (0/1) on ``scores``."""
    import numpy as np

    order = np.argsort(scores, kind="stable")
    x, y = np.asarray(scores, float)[order], np.asarray(correct, float)[order]
    # blocks of pooled values: mean, weight, and the scores they span
    means, weights, lows, highs = [], [], [], []
    for xi, yi in zip(x, y, strict=True):
        means.append(yi)
        weights.append(1.0)
        lows.append(xi)
        highs.append(xi)
        while len(means) > 1 and means[-2] > means[-1]:
            w = weights[-2] + weights[-1]
            means[-2] = (means[-2] * weights[-2] + means[-1] * weights[-1]) / w
            weights[-2], highs[-2] = w, highs[-1]
            del means[-1], weights[-1], lows[-1], highs[-1]
    knots = [(s, m) for low, high, m in zip(lows, highs, means, strict=True) for s in (low, high)]
    return Calibration(tuple(k[0] for k in knots), tuple(k[1] for k in knots))


@dataclass(frozen=True)
class Baseline:
    """What live performance is compared with: the model's metric on ``rows`` rows of its
    ``basis`` ("holdout": the rows its split rule held out of training; "reference": all of
    the reference, when the version records no split rule), and the calibration CBPE uses."""

    metric: str
    value: float
    rows: int
    basis: str
    calibration: Calibration | None = None


def version_split_rule(tags: Mapping[str, str]) -> SplitRule | None:
    """The rule that held a version's holdout out of its training: the gate's
    ``mlops.split_rule`` tag, else the version's training params (``mlops.params``, as training
    applied them); None when it records neither (a model registered outside CT)."""
    from airflow_mlops.data.holdout import SplitRule

    try:
        fields = json.loads(tags.get(SPLIT_RULE_TAG) or "null")
    except json.JSONDecodeError:  # a gate given its holdout as a table writes a sentence
        fields = None
    if isinstance(fields, dict) and {"fraction", "salt"} <= fields.keys():
        return SplitRule(fields["fraction"], fields.get("id_column"), fields["salt"])
    try:
        params = json.loads(tags.get(PARAMS_TAG) or "null")
    except json.JSONDecodeError:
        params = None
    return SplitRule.from_params(params) if isinstance(params, dict) else None


def model_baseline(
    reference: pd.DataFrame, predictor: OnnxPredictor, label: str, split_rule: SplitRule | None
) -> Baseline | None:
    """The model's metric on its holdout within ``reference`` (its training data), the rows
    ``split_rule`` held out (:func:`version_split_rule`); on all of ``reference`` without a
    rule. None when the reference has no ``label``.
    """
    from airflow_mlops.data.holdout import split_mask

    if label not in reference.columns:
        return None
    rows, basis = reference, "reference"
    if split_rule is not None:
        rows, basis = reference[split_mask(reference, split_rule)], "holdout"
    if rows.empty:
        return None
    scores = predictor.predict_proba(rows)
    predictions = predictor.predict(rows)
    task = predictor.task
    calibration = None
    if task == "classification":
        pairs = zip(predictions, rows[label].tolist(), strict=True)
        correct = [_class_text(p) == _class_text(t) for p, t in pairs]
        calibration = fit_calibration(scores.max(axis=1), correct)
        value = sum(correct) / len(correct)
    else:
        value = score_of(task, predictions, rows[label])
    metric = "accuracy" if task == "classification" else "rmse"
    return Baseline(metric, float(value), len(rows), basis, calibration)


def estimated_accuracy(current: Source, calibration: Calibration) -> tuple[float, int]:
    """CBPE: the mean calibrated top-class score of the window's rows, and their number."""
    total, rows = 0.0, 0
    for chunk in current([CONFIDENCE]):
        scores = chunk[CONFIDENCE].to_numpy(float)
        total += float(calibration(scores).sum())
        rows += len(scores)
    return (total / rows if rows else float("nan")), rows


def live_performance(
    current: Source,
    files: Sequence[Path],
    *,
    task: str,
    label: str,
    baseline: Baseline,
    labels: pd.Series | None = None,
    max_drop: float,
) -> dict[str, Any] | None:
    """The window's measured metric (labels joined from ``labels``, or a ``label`` column of
    the log) and, for classifiers with a logged confidence, CBPE's estimate beside it; the drop
    from the baseline is the measured one, else the estimated one. None when neither exists.

    :raises DataError: labels with ids the window never predicted.
    """
    if labels is not None:
        check_label_ids(current, labels, files)
        current = with_labels(current, labels, label)
    measured = (
        streamed_score(current, task, label)
        if labels is not None or has_column(files, label)
        else None
    )
    estimated = None
    if task == "classification" and baseline.calibration and has_column(files, CONFIDENCE):
        estimated = estimated_accuracy(current, baseline.calibration)
    if measured is None and estimated is None:
        return None
    current_value, basis = (measured[0], "measured") if measured else (estimated[0], "estimated")
    return {
        "metric": baseline.metric,
        "reference": baseline.value,
        "baseline": {k: v for k, v in asdict(baseline).items() if k != "calibration"},
        "current": current_value,
        "basis": basis,
        "measured": None if measured is None else measured[0],
        "labelled_rows": 0 if measured is None else measured[1],
        "estimated": None if estimated is None else estimated[0],
        "drop": performance_drop(baseline.value, current_value, task),
        "max_drop": max_drop,
    }
