"""A custom promotion gate: subclass EvaluateAndPromoteOperator and override ``compare``.

The default gate (thresholds, improvement over the champion, slice tolerance, latency budget)
still runs; this one adds a clinical-safety rule on top: every clinic with enough holdout rows
must reach an F1 score of ``min_slice_f1`` on the malignant class, champion or not. The
decision, every check and the reasons are logged to MLflow and tagged on the challenger::

    promote = SafetyGatePromoteOperator(
        task_id="evaluate_and_promote",
        model_name="cancer-mlp",
        challenger_version="{{ ti.xcom_pull('register')['version'] }}",
        holdout_uri="/data/holdout.csv",
        min_slice_f1=0.9,
    )
"""

from __future__ import annotations

from typing import Any

from airflow_mlops.model_registry.gate import Evaluation, GateDecision
from airflow_mlops.operators.model_registry import EvaluateAndPromoteOperator


class SafetyGatePromoteOperator(EvaluateAndPromoteOperator):
    """The default gate plus a per-clinic floor on F1 (malignant is the positive class).

    :param min_slice_f1: the lowest F1 any judged slice may have (0-1).
    """

    def __init__(self, *, min_slice_f1: float = 0.9, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if not 0 <= min_slice_f1 <= 1:
            raise ValueError(f"min_slice_f1={min_slice_f1!r} must be within [0, 1].")
        self.min_slice_f1 = min_slice_f1

    def compare(self, challenger: Evaluation, champion: Evaluation | None) -> GateDecision:
        base = super().compare(challenger, champion)
        min_rows = self.gate_config().min_slice_rows
        checks = [
            {
                "check": f"slice {name!r}: F1 floor",
                "value": round(scores["f1"], 6),
                "limit": self.min_slice_f1,
                "passed": scores["f1"] >= self.min_slice_f1,
            }
            for name, scores in challenger.slices.items()
            if scores["rows"] >= min_rows
        ]
        failed = [c for c in checks if not c["passed"]]
        reasons = [f"failed {c['check']}: {c['value']} (limit {c['limit']})" for c in failed]
        if not base.accepted:
            reasons = base.reasons + reasons
        return GateDecision(
            accepted=base.accepted and not failed,
            reasons=reasons or base.reasons,
            checks=base.checks + checks,
        )
