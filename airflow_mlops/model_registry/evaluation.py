"""Evaluate a challenger against the champion and promote it when the gate accepts.

The champion is read once, before scoring; the promotion is a compare-and-set against that
reading (:func:`~airflow_mlops.model_registry.promote.promote`), so a champion that moved meanwhile
fails the promotion cleanly instead of being overwritten.
"""

from __future__ import annotations

import dataclasses
import json
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from airflow_mlops.lineage import CHAMPION, GATE_DECISION_TAG, GATE_REASONS_TAG, REPORT_TAG
from airflow_mlops.model_registry.client import (
    ModelVersionRef,
    alias_version,
    download_onnx,
    mlflow_client,
    registry_call,
    resolve_model_version,
)
from airflow_mlops.model_registry.gate import Evaluation, Gate, GateConfig, GateDecision, evaluate
from airflow_mlops.model_registry.promote import promote as move_champion
from airflow_mlops.model_registry.report import REPORT_FILE, write_report
from airflow_mlops.model_registry.shadow import shadow_compare

if TYPE_CHECKING:
    import pandas as pd

Compare = Callable[[Evaluation, Evaluation | None], GateDecision]


@dataclass(frozen=True)
class PromotionOutcome:
    """What the gate decided and where the aliases point afterwards."""

    name: str
    challenger_version: str
    champion_before: str | None
    champion_after: str | None
    accepted: bool
    promoted: bool
    reasons: list[str]
    metrics: dict[str, Any]
    report_uri: str

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able dict (for XCom)."""
        return {
            "name": self.name,
            "challenger_version": self.challenger_version,
            "champion_before": self.champion_before,
            "champion_after": self.champion_after,
            "accepted": self.accepted,
            "promoted": self.promoted,
            "reasons": self.reasons,
            "metrics": self.metrics,
            "report_uri": self.report_uri,
        }


def evaluate_and_promote(
    tracking_uri: str,
    name: str,
    challenger_version: str,
    holdout: pd.DataFrame,
    *,
    config: GateConfig | None = None,
    compare: Compare | None = None,
    promote: bool = True,
    cache_dir: str | Path | None = None,
    traffic: tuple[pd.DataFrame, str] | None = None,
) -> PromotionOutcome:
    """Score challenger and champion on ``holdout``, judge them, log the report, tag the
    challenger with the decision, and (``promote=True``) move ``champion``.

    :param config: the gate rules (slice column, thresholds, ...); defaults to GateConfig().
    :param compare: the judge, ``compare(challenger, champion) -> GateDecision``; default
        ``Gate(config).compare``.
    :param traffic: recent production rows and where they came from
        (:func:`~airflow_mlops.model_registry.shadow.recent_traffic`): both models score them and
        the challenger's evaluation carries the agreement (``shadow``) before the gate judges.

    Re-running after a promotion finds the challenger already champion and changes nothing.

    :raises PromotionConflictError: the champion moved while the challenger was evaluated.
    :raises RegistryError: MLflow refused or could not be reached.
    :raises DataError: the holdout lacks a feature, the label or the slice column.
    """
    from airflow_mlops.export.runtime import OnnxPredictor

    config = config or GateConfig()
    compare = compare or Gate(config).compare
    champion_before = alias_version(tracking_uri, name, CHAMPION)
    challenger = resolve_model_version(tracking_uri, name, str(challenger_version))
    if champion_before == challenger.version:
        return PromotionOutcome(
            name,
            challenger.version,
            champion_before,
            champion_before,
            accepted=True,
            promoted=True,
            reasons=[f"version {challenger.version} is already the champion"],
            metrics={},
            report_uri=challenger.tags.get(REPORT_TAG, ""),
        )
    champion = (
        resolve_model_version(tracking_uri, name, champion_before) if champion_before else None
    )
    with tempfile.TemporaryDirectory(prefix="mlops-gate-") as scratch:
        cache = Path(cache_dir) if cache_dir else Path(scratch) / "models"

        def load(ref: ModelVersionRef) -> OnnxPredictor:
            return OnnxPredictor.load(download_onnx(tracking_uri, ref, cache))

        def score(ref: ModelVersionRef, predictor: OnnxPredictor) -> Evaluation:
            return evaluate(
                predictor, holdout, version=ref.version, slice_column=config.slice_column
            )

        challenger_model = load(challenger)
        challenger_eval = score(challenger, challenger_model)
        champion_eval = None
        if champion:
            champion_model = load(champion)
            champion_eval = score(champion, champion_model)
            if traffic is not None:
                shadow = shadow_compare(challenger_model, champion_model, *traffic)
                challenger_eval = dataclasses.replace(challenger_eval, shadow=shadow.to_dict())
        decision = compare(challenger_eval, champion_eval)
        report = write_report(
            Path(scratch) / "report",
            name=name,
            challenger=challenger_eval,
            champion=champion_eval,
            decision=decision,
            config=config,
        )
        report_uri = _log_report(tracking_uri, challenger, report)
    _tag_decision(tracking_uri, challenger, decision, report_uri)
    champion_after = champion_before
    if decision.accepted and promote:
        champion_after = move_champion(
            tracking_uri, name, challenger.version, expected_champion=champion_before
        ).champion
    metric = config.primary(challenger_eval.task)
    return PromotionOutcome(
        name,
        challenger.version,
        champion_before,
        champion_after,
        accepted=decision.accepted,
        promoted=champion_after == challenger.version,
        reasons=decision.reasons,
        metrics={
            "metric": metric,
            "challenger": challenger_eval.metrics.get(metric),
            "champion": champion_eval.metrics.get(metric) if champion_eval else None,
            "challenger_latency_p50_ms": challenger_eval.latency_p50_ms,
            "shadow": challenger_eval.shadow,
        },
        report_uri=report_uri,
    )


def _log_report(tracking_uri: str, challenger: ModelVersionRef, report: Path) -> str:
    """Log the report directory into the challenger's run; returns the URI of report.md."""
    from airflow_mlops.model_registry.client import registration_experiment
    from airflow_mlops.model_registry.register import experiment_id

    client = mlflow_client(tracking_uri)
    run_id = challenger.run_id or registry_call(
        f"create a run for the evaluation of {challenger.name}",
        tracking_uri,
        lambda: (
            client.create_run(
                experiment_id(client, tracking_uri, registration_experiment(challenger.name))
            ).info.run_id
        ),
    )
    path = f"evaluation/v{challenger.version}"
    registry_call(
        f"log the evaluation report of {challenger.name} v{challenger.version}",
        tracking_uri,
        lambda: client.log_artifacts(run_id, str(report), artifact_path=path),
    )
    run = registry_call(f"read run {run_id}", tracking_uri, lambda: client.get_run(run_id))
    return f"{run.info.artifact_uri.rstrip('/')}/{path}/{REPORT_FILE}"


def _tag_decision(
    tracking_uri: str, challenger: ModelVersionRef, decision: GateDecision, report_uri: str
) -> None:
    client = mlflow_client(tracking_uri)
    tags = {
        GATE_DECISION_TAG: "accepted" if decision.accepted else "rejected",
        GATE_REASONS_TAG: json.dumps(decision.reasons),
        REPORT_TAG: report_uri,
    }

    def tag() -> None:
        for key, value in tags.items():
            client.set_model_version_tag(challenger.name, challenger.version, key, value)

    what = f"tag {challenger.name} v{challenger.version} with the gate decision"
    registry_call(what, tracking_uri, tag)
