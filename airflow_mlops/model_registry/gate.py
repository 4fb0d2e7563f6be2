"""The champion/challenger gate: score both models on the same holdout rows, then decide.

:class:`GateConfig` holds the rules (absolute thresholds; better than the champion beyond the
noise of the holdout, or "not worse" within a tolerance; no slice worse by more than a
tolerance; a latency budget); :meth:`Gate.compare` applies them. "Beyond noise" reads the
paired comparison the evaluation attaches to the challenger
(:mod:`~airflow_mlops.model_registry.significance`): the lower bound of the interval of the
improvement must clear ``min_improvement`` (and McNemar's test must agree, for accuracy).
Subclass :class:`Gate` and override ``compare`` for other rules.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from airflow_mlops.errors import ConfigError, DataError

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

    from airflow_mlops.export.runtime import OnnxPredictor

#: metric -> +1 when higher is better, -1 when lower is better
DIRECTION = {
    "accuracy": 1,
    "f1": 1,
    "roc_auc": 1,
    "log_loss": -1,
    "rmse": -1,
    "mae": -1,
    "r2": 1,
}
TASK_METRICS = {
    "classification": ("accuracy", "f1", "roc_auc", "log_loss"),
    "regression": ("rmse", "mae", "r2"),
}
DEFAULT_METRIC = {"classification": "accuracy", "regression": "rmse"}


@dataclass(frozen=True)
class GateConfig:
    """The rules a challenger must pass to replace the champion.

    :param metric: the primary metric (default: accuracy for classifiers, rmse for regressors).
    :param thresholds: absolute limits, ``{metric: limit}``: a minimum for metrics where
        higher is better, a maximum for the others (log_loss, rmse, mae).
    :param min_improvement: how much the challenger must beat the champion on ``metric``, in
        the metric's better direction, at the lower bound of the paired interval: 0 = better
        beyond the noise of the holdout.
    :param confidence: the confidence of the paired interval (and 1 - the significance level
        of McNemar's test on accuracy).
    :param tolerance: allow "not worse" refreshes: a challenger that is not better beyond
        noise is accepted when the lower bound of its improvement is at least ``-tolerance``
        (None: only a better challenger replaces the champion).
    :param resamples: bootstrap resamples of the holdout rows.
    :param min_holdout_rows: a smaller holdout cannot be judged: the gate fails with a message
        saying how to get more rows, and the champion stays.
    :param slice_column: the column whose values are slices (segments); None for no slice rule.
    :param slice_tolerance: how much worse than the champion any slice may be on ``metric``.
    :param min_slice_rows: slices with fewer holdout rows are reported but not judged.
    :param max_latency_ms: budget on the challenger's p50 latency at batch 1 (None: no budget).
    :param min_shadow_agreement: least share of recent traffic on which the challenger must
        predict what the champion predicted (None: measured and reported, not judged).
    :param max_shadow_shift: most the distribution of the challenger's scores on recent traffic
        may differ from the champion's (Kolmogorov-Smirnov distance, the largest over the
        output columns; None: reported, not judged).
    :param max_serving_p99_ms: infra budget: p99 latency at batch 1 in the clean serving
        runtime (None: measured and tagged, not judged).
    :param min_serving_rows_per_s: infra budget: rows per second at ``serving_batch`` rows
        per call in the serving runtime (None: measured and tagged, not judged).
    :param serving_batch: the batch size of the serving throughput test.
    :param min_shadow_rows: the shadow checks judge only when the inference log holds at least
        this many recent rows; with fewer (or none) they are reported and skipped.
    """

    metric: str | None = None
    thresholds: Mapping[str, float] = field(default_factory=dict)
    min_improvement: float = 0.0
    slice_column: str | None = None
    slice_tolerance: float = 0.05
    min_slice_rows: int = 10
    max_latency_ms: float | None = None
    min_shadow_agreement: float | None = 0.9
    max_shadow_shift: float | None = 0.2
    min_shadow_rows: int = 100
    max_serving_p99_ms: float | None = None
    min_serving_rows_per_s: float | None = None
    serving_batch: int = 256
    confidence: float = 0.95
    tolerance: float | None = None
    resamples: int = 2000
    min_holdout_rows: int = 30

    def __post_init__(self) -> None:
        problems = []
        known = sorted(DIRECTION)
        if self.metric is not None and self.metric not in DIRECTION:
            problems.append(f"metric={self.metric!r} is not one of {known}")
        for name, limit in dict(self.thresholds).items():
            if name not in DIRECTION:
                problems.append(f"threshold on unknown metric {name!r} (known: {known})")
            elif not _finite(limit):
                problems.append(f"threshold {name}={limit!r} is not a finite number")
        if not _finite(self.min_improvement):
            problems.append(f"min_improvement={self.min_improvement!r} is not a finite number")
        if not _finite(self.slice_tolerance) or self.slice_tolerance < 0:
            problems.append(f"slice_tolerance={self.slice_tolerance!r} must be a number >= 0")
        if not isinstance(self.min_slice_rows, int) or self.min_slice_rows < 1:
            problems.append(f"min_slice_rows={self.min_slice_rows!r} must be an integer >= 1")
        if self.max_latency_ms is not None and (
            not _finite(self.max_latency_ms) or self.max_latency_ms <= 0
        ):
            problems.append(f"max_latency_ms={self.max_latency_ms!r} must be a number > 0")
        if self.min_shadow_agreement is not None and not (
            _finite(self.min_shadow_agreement) and 0 <= self.min_shadow_agreement <= 1
        ):
            problems.append(
                f"min_shadow_agreement={self.min_shadow_agreement!r} must be a number in [0, 1]"
            )
        if self.max_shadow_shift is not None and not (
            _finite(self.max_shadow_shift) and 0 <= self.max_shadow_shift <= 1
        ):
            problems.append(
                f"max_shadow_shift={self.max_shadow_shift!r} must be a number in [0, 1]"
            )
        for name in ("max_serving_p99_ms", "min_serving_rows_per_s"):
            value = getattr(self, name)
            if value is not None and (not _finite(value) or value <= 0):
                problems.append(f"{name}={value!r} must be None or a number > 0")
        if not _finite(self.confidence) or not 0.5 <= self.confidence < 1:
            problems.append(f"confidence={self.confidence!r} must be a number in [0.5, 1)")
        if self.tolerance is not None and (not _finite(self.tolerance) or self.tolerance < 0):
            problems.append(f"tolerance={self.tolerance!r} must be None or a number >= 0")
        for name, least in (
            ("resamples", 100),
            ("min_holdout_rows", 2),
            ("min_shadow_rows", 1),
            ("serving_batch", 1),
        ):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < least:
                problems.append(f"{name}={value!r} must be an integer >= {least}")
        if problems:
            raise ConfigError(
                "Invalid gate config: " + "; ".join(problems) + ".",
                hint="Fix the gate arguments named above (GateConfig or the operator's gate).",
                details={"problems": problems},
            )

    @classmethod
    def from_dict(cls, values: Mapping[str, Any] | None) -> GateConfig:
        """Build from a plain dict (a DAG param or a JSON config); unknown keys are refused."""
        values = dict(values or {})
        known = set(cls.__dataclass_fields__)
        unknown = sorted(set(values) - known)
        if unknown:
            raise ConfigError(
                f"Unknown gate config keys {unknown}.", hint=f"Use only {sorted(known)}."
            )
        return cls(**values)

    def primary(self, task: str) -> str:
        """The primary metric for a model of ``task``."""
        return self.metric or DEFAULT_METRIC[task]

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able dict."""
        return {key: getattr(self, key) for key in self.__dataclass_fields__} | {
            "thresholds": dict(self.thresholds)
        }


def _finite(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


@dataclass(frozen=True)
class Evaluation:
    """One model scored on the holdout.

    :param version: the model version (None for a model outside the registry).
    :param task: classification or regression.
    :param metrics: metric -> value over the whole holdout.
    :param slices: slice value -> ``{"rows": n, metric: value, ...}``.
    :param latency_p50_ms: p50 latency at batch 1 (None when not measured).
    :param paired: on the challenger, the paired comparison with the champion on the same rows
        (:func:`~airflow_mlops.model_registry.significance.compare_on_rows`; None without a
        champion).
    :param shadow: agreement with the champion on recent traffic
        (:class:`~airflow_mlops.model_registry.shadow.ShadowResult` as a dict; None when not
        compared).
    """

    version: str | None
    task: str
    rows: int
    metrics: dict[str, float]
    slices: dict[str, dict[str, float]] = field(default_factory=dict)
    latency_p50_ms: float | None = None
    shadow: dict[str, Any] | None = None
    paired: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "task": self.task,
            "rows": self.rows,
            "metrics": self.metrics,
            "slices": self.slices,
            "latency_p50_ms": self.latency_p50_ms,
            "shadow": self.shadow,
            "paired": self.paired,
        }


def score_metrics(task: str, truth: np.ndarray, scores: np.ndarray, classes: list[Any]) -> dict:
    """The metrics of :data:`TASK_METRICS` for ``scores`` (probabilities or predictions)."""
    import numpy as np
    from sklearn import metrics

    if task == "regression":
        predicted = scores[:, 0]
        error = predicted - truth.astype(float)
        result = {
            "rmse": float(np.sqrt(np.mean(error**2))),
            "mae": float(np.mean(np.abs(error))),
        }
        if len(truth) > 1:
            result["r2"] = float(metrics.r2_score(truth, predicted))
        return result
    labels = np.asarray(classes if classes else range(scores.shape[1]))
    predicted = labels[scores.argmax(axis=1)]
    result = {"accuracy": float(metrics.accuracy_score(truth, predicted))}
    binary = len(labels) == 2
    result["f1"] = float(
        metrics.f1_score(
            truth,
            predicted,
            labels=labels,
            pos_label=labels[-1] if binary else 1,
            average="binary" if binary else "macro",
            zero_division=0,
        )
    )
    result["log_loss"] = float(metrics.log_loss(truth, scores, labels=labels))
    if binary and len(np.unique(truth)) == 2:
        result["roc_auc"] = float(metrics.roc_auc_score(truth == labels[1], scores[:, 1]))
    return result


def evaluate(
    predictor: OnnxPredictor,
    holdout: pd.DataFrame,
    *,
    version: str | None = None,
    slice_column: str | None = None,
    measure_latency: bool = True,
    scores: np.ndarray | None = None,
) -> Evaluation:
    """Score ``predictor`` on ``holdout``: metrics overall and per slice, p50 latency at batch 1.

    :param scores: the predictor's outputs on ``holdout`` when already computed.

    :raises DataError: the holdout is empty or lacks the label, a feature or the slice column.
    """
    if len(holdout) == 0:
        raise DataError("The holdout is empty.", hint="Evaluate on a non-empty holdout dataset.")
    for needed, role in ((predictor.label, "label"), (slice_column, "slice")):
        if needed is not None and needed not in holdout.columns:
            raise DataError(
                f"The holdout lacks the {role} column {needed!r} "
                f"(columns: {list(holdout.columns)}).",
                hint=f"Evaluate on data that has {needed!r}, or change the gate's slice_column.",
            )
    if scores is None:
        scores = predictor.predict_proba(holdout)
    truth = holdout[predictor.label].to_numpy()
    overall = score_metrics(predictor.task, truth, scores, predictor.classes)
    slices = {}
    if slice_column is not None:
        keys = slice_keys(holdout, slice_column)
        for value in sorted(set(keys)):
            rows = keys == value
            slices[str(value)] = {
                "rows": int(rows.sum()),
                **score_metrics(predictor.task, truth[rows], scores[rows], predictor.classes),
            }
    return Evaluation(
        version=version,
        task=predictor.task,
        rows=len(holdout),
        metrics=overall,
        slices=slices,
        latency_p50_ms=_latency_p50(predictor, holdout) if measure_latency else None,
    )


def slice_keys(holdout: pd.DataFrame, slice_column: str) -> np.ndarray:
    """Each row's slice as text (missing values are the slice ``<missing>``)."""
    return holdout[slice_column].astype("string").fillna("<missing>").to_numpy()


def _latency_p50(predictor: OnnxPredictor, holdout: pd.DataFrame) -> float:
    from airflow_mlops.export.latency import TimingPlan, onnx_latency

    plan = TimingPlan(warmup=5, min_calls=20, max_calls=300, max_seconds=0.5)
    stats = onnx_latency(predictor, holdout, batches=(1,), threads=1, plan=plan)
    return round(stats[1].p50_ms, 4)


@dataclass(frozen=True)
class GateDecision:
    """The verdict: accepted or not, why, and every check with its value and limit."""

    accepted: bool
    reasons: list[str]
    checks: list[dict[str, Any]]

    def to_dict(self) -> dict[str, Any]:
        return {"accepted": self.accepted, "reasons": self.reasons, "checks": self.checks}


class Gate:
    """Applies a :class:`GateConfig`; override :meth:`compare` to change the rules."""

    def __init__(self, config: GateConfig | None = None) -> None:
        self.config = config or GateConfig()

    def compare(self, challenger: Evaluation, champion: Evaluation | None) -> GateDecision:
        """Judge ``challenger`` against ``champion`` (None when there is no champion yet)."""
        config = self.config
        metric = config.primary(challenger.task)
        checks = [
            _check(
                f"threshold {name}",
                challenger.metrics.get(name, math.nan),
                limit,
                DIRECTION[name] * (challenger.metrics.get(name, math.nan) - limit) >= 0,
            )
            for name, limit in dict(config.thresholds).items()
        ]
        if champion is not None:
            checks.append(self.improvement_check(challenger, champion, metric))
            checks += self.slice_checks(challenger, champion, metric)
        if config.max_latency_ms is not None and challenger.latency_p50_ms is not None:
            checks.append(
                _check(
                    "latency p50 at batch 1 (ms)",
                    challenger.latency_p50_ms,
                    config.max_latency_ms,
                    challenger.latency_p50_ms <= config.max_latency_ms,
                )
            )
        if challenger.shadow is not None:
            checks += self.shadow_checks(challenger.shadow)
        failed = [c for c in checks if not c["passed"]]
        if failed:
            reasons = [_reason(c) for c in failed]
        elif champion is None:
            reasons = ["no champion yet: the first version that passes the thresholds wins"]
        else:
            reasons = [c["reason"] for c in checks if "reason" in c] + ["passes every check"]
        return GateDecision(accepted=not failed, reasons=reasons, checks=checks)

    def improvement_check(
        self, challenger: Evaluation, champion: Evaluation, metric: str
    ) -> dict[str, Any]:
        """Better than the champion beyond noise, or (with a tolerance) not worse, judged on
        the lower bound of the paired interval of the improvement."""
        config = self.config
        name = f"improvement in {metric} over champion v{champion.version}"
        paired = challenger.paired
        if paired is None or paired["metric"] != metric:
            return _check(name, "not measured", "a paired comparison on the same rows", False)
        improvement = paired["improvement"]
        low = improvement["low"]
        interval = (
            f"{metric} {paired['challenger']['value']:.4f} vs {paired['champion']['value']:.4f} "
            f"on the same {paired['rows']} holdout rows; improvement {improvement['value']:+.4f}, "
            f"{paired['confidence']:.0%} interval [{low:+.4f}, {improvement['high']:+.4f}]"
        )
        mcnemar = paired.get("mcnemar")
        agrees = True
        if mcnemar is not None:
            alpha = 1 - paired["confidence"]
            agrees = mcnemar["better"] > mcnemar["worse"] and mcnemar["p_value"] < alpha
            interval += (
                f"; McNemar {mcnemar['better']} rows only the challenger gets right vs "
                f"{mcnemar['worse']}, p={mcnemar['p_value']:.3g}"
            )
        better = low > config.min_improvement and agrees
        not_worse = config.tolerance is not None and low >= -config.tolerance
        if better:
            reason = f"better than champion v{champion.version} beyond noise: {interval}"
        elif not_worse:
            reason = (
                f"not worse than champion v{champion.version} within tolerance "
                f"{config.tolerance}: {interval}"
            )
        else:
            reason = (
                f"not better than champion v{champion.version} beyond noise: {interval} (the "
                f"lower bound must exceed {config.min_improvement}"
                + (
                    f", or reach -{config.tolerance} for a not-worse refresh)"
                    if config.tolerance is not None
                    else "; set tolerance to allow not-worse refreshes)"
                )
            )
        limit = -config.tolerance if config.tolerance is not None else config.min_improvement
        return _check(name, round(low, 6), limit, better or not_worse) | {"reason": reason}

    def shadow_checks(self, shadow: Mapping[str, Any]) -> list[dict[str, Any]]:
        """Agreement with the champion and the shift of the score distribution on recent
        traffic, judged when the log held at least ``min_shadow_rows`` rows."""
        config = self.config
        rows = shadow["rows"]
        if rows < config.min_shadow_rows:
            note = (
                f"shadow comparison not judged: {rows} recent rows in the inference log, fewer "
                f"than min_shadow_rows={config.min_shadow_rows}"
            )
            return [_check("shadow rows", rows, config.min_shadow_rows, True) | {"reason": note}]
        checks = []
        if config.min_shadow_agreement is not None:
            checks.append(
                _check(
                    f"agreement with the champion on {rows} recent rows",
                    shadow["agreement"],
                    config.min_shadow_agreement,
                    shadow["agreement"] >= config.min_shadow_agreement,
                )
            )
        shift = shadow.get("score_shift")
        if config.max_shadow_shift is not None and shift is not None:
            checks.append(
                _check(
                    f"score distribution shift vs the champion on {rows} recent rows (KS)",
                    shift,
                    config.max_shadow_shift,
                    shift <= config.max_shadow_shift,
                )
            )
        return checks

    def slice_checks(
        self, challenger: Evaluation, champion: Evaluation, metric: str
    ) -> list[dict[str, Any]]:
        """One check per slice with enough rows: not worse than the champion beyond tolerance."""
        checks = []
        for value, scores in challenger.slices.items():
            before = champion.slices.get(value)
            if before is None or scores["rows"] < self.config.min_slice_rows:
                continue
            drop = DIRECTION[metric] * (before[metric] - scores[metric])
            checks.append(
                _check(
                    f"slice {value!r}: {metric} drop vs champion",
                    round(drop, 6),
                    self.config.slice_tolerance,
                    drop <= self.config.slice_tolerance + 1e-12,
                )
            )
        return checks


def _check(name: str, value: float, limit: float, passed: bool) -> dict[str, Any]:
    return {"check": name, "value": value, "limit": limit, "passed": bool(passed)}


def _reason(check: dict[str, Any]) -> str:
    if "reason" in check:
        return f"failed {check['check']}: {check['reason']}"
    return f"failed {check['check']}: {check['value']} (limit {check['limit']})"
