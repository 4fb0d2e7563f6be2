"""Evaluate a challenger against the champion and promote it when the gate accepts.

Both models are scored on the same rows: the holdout of the new data version, chosen by the
split rule the challenger trained with (:mod:`airflow_mlops.data.holdout`, read from its
training params), so the challenger never saw them and, when the champion trained with the
same rule, neither did the champion. The gate judges the paired comparison on those rows
(:mod:`~airflow_mlops.model_registry.significance`); the rule, the holdout's md5 and its row
count are tagged on the challenger.

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

from airflow_mlops.data.holdout import SplitRule, holdout_md5, split
from airflow_mlops.errors import ConfigError, DataError
from airflow_mlops.lineage import (
    CHAMPION,
    GATE_DECISION_TAG,
    GATE_REASONS_TAG,
    HOLDOUT_MD5_TAG,
    HOLDOUT_ROWS_TAG,
    PARAMS_TAG,
    REPORT_TAG,
    SPLIT_RULE_TAG,
)
from airflow_mlops.model_registry.client import (
    ModelVersionRef,
    alias_version,
    download_onnx,
    mlflow_client,
    registry_call,
    resolve_model_version,
)
from airflow_mlops.model_registry.gate import (
    DIRECTION,
    Evaluation,
    Gate,
    GateConfig,
    GateDecision,
    evaluate,
    slice_keys,
)
from airflow_mlops.model_registry.infra import infra_checks, tag_infra, with_infra
from airflow_mlops.model_registry.promote import promote as move_champion
from airflow_mlops.model_registry.report import REPORT_FILE, write_report
from airflow_mlops.model_registry.shadow import shadow_compare
from airflow_mlops.model_registry.significance import compare_on_rows, min_rows_message

if TYPE_CHECKING:
    import pandas as pd

    from airflow_mlops.export.runtime import OnnxPredictor

#: ``split`` default: hold out the rows the challenger's recorded training params held out
RECORDED = "recorded"
#: the ``mlops.split_rule`` of a table given as the holdout itself (``split=None``)
GIVEN = "given: the whole table is the holdout"

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
    holdout: dict[str, Any] = dataclasses.field(default_factory=dict)

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
            "holdout": self.holdout,
        }


def evaluate_and_promote(
    tracking_uri: str,
    name: str,
    challenger_version: str,
    data: pd.DataFrame,
    *,
    config: GateConfig | None = None,
    compare: Compare | None = None,
    promote: bool = True,
    cache_dir: str | Path | None = None,
    traffic: tuple[pd.DataFrame, str] | None = None,
    split_rule: SplitRule | str | None = RECORDED,
    serving_python: str | Path | None = None,
) -> PromotionOutcome:
    """Score challenger and champion on the holdout rows of ``data``, judge them, log the
    report, tag the challenger with the decision and the holdout, and (``promote=True``) move
    ``champion``.

    :param data: the new data version (the challenger's training table).
    :param split_rule: which rows of ``data`` are the holdout: ``RECORDED`` (default) = the
        rule of the challenger's training params (tag ``mlops.params``); a
        :class:`~airflow_mlops.data.holdout.SplitRule`; None = ``data`` is a holdout already
        (no model trained on any of its rows).

    :param config: the gate rules (slice column, thresholds, ...); defaults to GateConfig().
    :param compare: the judge, ``compare(challenger, champion) -> GateDecision``; default
        ``Gate(config).compare``.
    :param traffic: recent production rows and where they came from
        (:func:`~airflow_mlops.model_registry.shadow.recent_traffic`): both models score them and
        the challenger's evaluation carries the agreement (``shadow``) before the gate judges.
    :param serving_python: the Python of the clean serving runtime
        (:func:`~airflow_mlops.serving.runtime.ensure_runtime`): the challenger must load,
        score the holdout like at export and meet the gate's serving budget there (the infra
        blessing, tagged ``mlops.infra_blessing``) to be promoted. None: no infra blessing.

    Re-running after a promotion finds the challenger already champion and changes nothing.

    :raises PromotionConflictError: the champion moved while the challenger was evaluated.
    :raises RegistryError: MLflow refused or could not be reached.
    :raises DataError: the holdout is smaller than ``config.min_holdout_rows``, or lacks a
        feature, the label or the slice column; the champion is not moved.
    :raises ServingError: ``serving_python`` does not exist; the champion is not moved.
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
    holdout, record = _holdout(data, challenger, split_rule, config)
    record["champion_rule"] = _champion_rule_note(champion, record)
    with tempfile.TemporaryDirectory(prefix="mlops-gate-") as scratch:
        cache = Path(cache_dir) if cache_dir else Path(scratch) / "models"

        def load(ref: ModelVersionRef) -> OnnxPredictor:
            return OnnxPredictor.load(download_onnx(tracking_uri, ref, cache))

        def score(ref: ModelVersionRef, predictor: OnnxPredictor, scores: Any) -> Evaluation:
            return evaluate(
                predictor,
                holdout,
                version=ref.version,
                slice_column=config.slice_column,
                scores=scores,
            )

        challenger_model = load(challenger)
        challenger_scores = challenger_model.predict_proba(holdout)
        challenger_eval = score(challenger, challenger_model, challenger_scores)
        champion_eval = None
        if champion:
            champion_model = load(champion)
            champion_scores = champion_model.predict_proba(holdout)
            champion_eval = score(champion, champion_model, champion_scores)
            paired = _paired(
                config,
                challenger_eval.task,
                holdout,
                challenger_model,
                champion_model,
                (challenger_scores, champion_scores),
            )
            challenger_eval = dataclasses.replace(challenger_eval, paired=paired)
            if traffic is not None:
                shadow = shadow_compare(challenger_model, champion_model, *traffic)
                challenger_eval = dataclasses.replace(challenger_eval, shadow=shadow.to_dict())
        decision = compare(challenger_eval, champion_eval)
        infra = None
        if serving_python is not None:
            checks, measured = infra_checks(
                serving_python, download_onnx(tracking_uri, challenger, cache), holdout, config
            )
            decision = with_infra(decision, checks)
            infra = tag_infra(tracking_uri, challenger, checks, measured)
        report = write_report(
            Path(scratch) / "report",
            name=name,
            challenger=challenger_eval,
            champion=champion_eval,
            decision=decision,
            config=config,
            holdout=record,
        )
        report_uri = _log_report(tracking_uri, challenger, report)
    _tag_decision(tracking_uri, challenger, decision, report_uri, record)
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
            "infra": infra,
            "paired": _without_slices(challenger_eval.paired),
        },
        report_uri=report_uri,
        holdout=record,
    )


def _holdout(
    data: pd.DataFrame,
    challenger: ModelVersionRef,
    split_rule: SplitRule | str | None,
    config: GateConfig,
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """The holdout rows of ``data`` and their record (rule, md5, rows) for lineage.

    :raises DataError: too few rows for the paired test, or an unreadable recorded rule.
    """
    rule: SplitRule | None
    if split_rule == RECORDED:
        rule = recorded_rule(challenger)
    elif split_rule is None or isinstance(split_rule, SplitRule):
        rule = split_rule
    else:
        raise ConfigError(
            f"split_rule={split_rule!r}: use {RECORDED!r}, a SplitRule or None.",
            hint="Leave it out to hold out the rows the challenger's training held out.",
        )
    if rule is None:
        holdout, record = data, {"split_rule": GIVEN, "md5": holdout_md5(data)}
    else:
        held = split(data, rule)
        holdout = held.holdout
        record = {"split_rule": held.rule.to_lineage(), "md5": held.md5}
    record |= {"rows": len(holdout), "data_rows": len(data)}
    if len(holdout) < config.min_holdout_rows:
        fraction = rule.fraction if rule is not None else None
        raise DataError(
            min_rows_message(len(holdout), config.min_holdout_rows, fraction),
            hint=f"{len(data)} rows of data gave {len(holdout)} holdout rows; the champion "
            "was not touched.",
            details=record,
        )
    return holdout, record


def recorded_rule(ref: ModelVersionRef) -> SplitRule:
    """The split rule of the training params a version records (defaults when it records
    none, as training applied them).

    :raises DataError: the params tag is not a JSON object.
    """
    text = ref.tags.get(PARAMS_TAG) or "{}"
    try:
        params = json.loads(text)
    except json.JSONDecodeError:
        params = None
    if not isinstance(params, dict):
        raise DataError(
            f"{ref.name} v{ref.version}: tag {PARAMS_TAG} is not a JSON object: {text[:200]!r}.",
            hint="Pass the split rule to the gate explicitly, or fix the version's tag.",
        )
    return SplitRule.from_params(params)


def _champion_rule_note(champion: ModelVersionRef | None, record: dict[str, Any]) -> str | None:
    """Why the champion may have trained on some holdout rows (None: it did not)."""
    if champion is None or record["split_rule"] == GIVEN:
        return None
    rule = champion.tags.get(SPLIT_RULE_TAG)
    if rule is None:
        return (
            f"champion v{champion.version} records no split rule: it may have trained on some "
            "holdout rows, which can only favour it"
        )
    if rule != record["split_rule"]:
        return (
            f"champion v{champion.version} was judged under another split rule ({rule}): it may "
            "have trained on some holdout rows, which can only favour it"
        )
    return None


def _paired(
    config: GateConfig,
    task: str,
    holdout: pd.DataFrame,
    challenger: OnnxPredictor,
    champion: OnnxPredictor,
    scores: tuple[Any, Any],
) -> dict[str, Any]:
    """The paired comparison of both models' ``scores`` on the holdout rows."""
    metric = config.primary(task)
    return compare_on_rows(
        metric,
        DIRECTION[metric],
        holdout[challenger.label].to_numpy(),
        *scores,
        challenger.classes,
        champion_classes=champion.classes,
        confidence=config.confidence,
        resamples=config.resamples,
        slices=slice_keys(holdout, config.slice_column) if config.slice_column else None,
        min_slice_rows=config.min_slice_rows,
    )


def _without_slices(paired: dict[str, Any] | None) -> dict[str, Any] | None:
    """The overall comparison, for XCom (the report has the slices)."""
    return None if paired is None else {k: v for k, v in paired.items() if k != "slices"}


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
    tracking_uri: str,
    challenger: ModelVersionRef,
    decision: GateDecision,
    report_uri: str,
    holdout: dict[str, Any],
) -> None:
    client = mlflow_client(tracking_uri)
    tags = {
        GATE_DECISION_TAG: "accepted" if decision.accepted else "rejected",
        GATE_REASONS_TAG: json.dumps(decision.reasons),
        REPORT_TAG: report_uri,
        SPLIT_RULE_TAG: holdout["split_rule"],
        HOLDOUT_MD5_TAG: holdout["md5"],
        HOLDOUT_ROWS_TAG: str(holdout["rows"]),
    }

    def tag() -> None:
        for key, value in tags.items():
            client.set_model_version_tag(challenger.name, challenger.version, key, value)

    what = f"tag {challenger.name} v{challenger.version} with the gate decision"
    registry_call(what, tracking_uri, tag)
