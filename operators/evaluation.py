"""EvaluateAndPromoteOperator: the champion/challenger gate and the compare-and-set promotion."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from airflow_mlops.errors import ConfigError, MlopsError
from airflow_mlops.hooks.mlflow import MlflowHook
from airflow_mlops.inputs import (
    check_bool,
    check_name,
    check_path,
    check_text,
    check_version_or_alias,
    rule,
)
from airflow_mlops.model_registry.gate import Gate, GateConfig
from airflow_mlops.operators.arguments import check_arguments
from airflow_mlops.operators.exceptions import MlopsTaskError
from airflow_mlops.operators.mlflow_base import MlflowOperator, PromotionError, as_bool, as_mapping
from airflow_mlops.plugins.links import EvaluationReportLink
from airflow_mlops.settings import MlopsHome

if TYPE_CHECKING:
    import pandas as pd
    from airflow.sdk import Context

    from airflow_mlops.model_registry.gate import Evaluation, GateDecision


#: ``serving_runtime`` value: the runtime under the artifacts folder, made on first use
AUTO_RUNTIME = "auto"


class GateRejectedError(MlopsTaskError):
    """The challenger failed the gate and the operator was told to fail on rejection."""


def check_gate(name: str, value: Any) -> GateConfig:
    """A gate config: a :class:`GateConfig`, a dict of its fields or its JSON text."""
    return value if isinstance(value, GateConfig) else GateConfig.from_dict(as_mapping(value, name))


class EvaluateAndPromoteOperator(MlflowOperator):
    """Score challenger and champion on one holdout; promote the challenger if the gate agrees.

    The gate (:class:`~airflow_mlops.model_registry.gate.GateConfig`): absolute thresholds, a
    minimum improvement over the champion, no slice of ``segment_column`` worse by more than a
    tolerance, a latency budget. Promotion is a compare-and-set on ``champion`` (the former
    champion becomes ``previous``); a rejected challenger is tagged with the reasons. The
    report (tables and a plot) is logged to the challenger's MLflow run. Override
    :meth:`compare` to change the rules.
    XCom: ``{"name", "challenger_version", "champion_before", "champion_after", "accepted",
    "promoted", "reasons", "metrics", "report_uri"}``.

    :param model_name: the registered model. (templated)
    :param challenger_version: version number or alias of the challenger. (templated)
    :param holdout_uri: the holdout table (CSV/Parquet, local or s3://). (templated)
    :param gate: the gate config, a dict or :class:`GateConfig`. (templated)
    :param segment_column: the slice column; overrides ``gate["slice_column"]``. (templated)
    :param promote: move ``champion`` when accepted; False only records the decision.
        (templated)
    :param fail_on_reject: fail the task when the gate rejects (default: succeed, not promoted).
    :param inference_log_root: where batch scoring logs the champion's traffic; the newest rows
        of the last ``shadow_days`` days are scored by both models (shadow comparison, gate
        rules ``min_shadow_agreement`` and ``max_shadow_shift``, judged from
        ``min_shadow_rows`` rows). Default ``<artifacts>/inference_log``. (templated)
    :param shadow_days: how many days of traffic the shadow comparison reads (0: none).
    :param serving_runtime: the infra blessing: ``"auto"`` = the clean serving runtime under
        the artifacts folder (made on first use), or the path of a runtime's Python; the
        challenger must load and score there like at export, within the gate's
        ``max_serving_p99_ms`` / ``min_serving_rows_per_s``, to be promoted. None: no infra
        blessing. (templated)
    :param mlflow_conn_id: the Airflow connection of the MLflow server.
    """

    template_fields: Sequence[str] = (
        "model_name",
        "challenger_version",
        "holdout_uri",
        "gate",
        "segment_column",
        "promote",
        "inference_log_root",
        "serving_runtime",
    )
    operator_extra_links = (EvaluationReportLink(),)
    ui_color = "#ffe9c7"
    error_class = PromotionError
    argument_rules = {
        "model_name": check_name,
        "challenger_version": check_version_or_alias,
        "promote": lambda name, value: as_bool(value, name),
        "holdout_uri": check_path,
        "segment_column": rule(check_text, max_length=256, allow_none=True),
        "gate": check_gate,
        "fail_on_reject": check_bool,
        "inference_log_root": rule(check_path, allow_none=True),
        "serving_runtime": rule(check_path, allow_none=True),
        "mlflow_conn_id": check_name,
    }

    def __init__(
        self,
        *,
        model_name: str,
        challenger_version: str,
        holdout_uri: str,
        gate: dict[str, Any] | GateConfig | str | None = None,
        segment_column: str | None = None,
        promote: bool | str = True,
        fail_on_reject: bool = False,
        inference_log_root: str | None = None,
        shadow_days: int = 7,
        serving_runtime: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.model_name = model_name
        self.challenger_version = challenger_version
        self.holdout_uri = holdout_uri
        self.gate = gate
        self.segment_column = segment_column
        self.promote = promote
        self.fail_on_reject = fail_on_reject
        self.inference_log_root = inference_log_root
        self.serving_runtime = serving_runtime
        if not isinstance(shadow_days, int) or isinstance(shadow_days, bool) or shadow_days < 0:
            raise ConfigError(
                f"shadow_days={shadow_days!r} is not a whole number of days >= 0.",
                hint="Give shadow_days=0 to skip the shadow comparison, or a number of days.",
            )
        self.shadow_days = shadow_days
        check_arguments(self, self.argument_rules, rendered=False)
        if isinstance(gate, GateConfig | Mapping):
            self.gate_config()  # a literal config is checked when the DAG is parsed

    def gate_config(self) -> GateConfig:
        """The gate config from ``gate`` and ``segment_column``."""
        gate = self.gate
        values = gate.to_dict() if isinstance(gate, GateConfig) else as_mapping(gate, "gate")
        if self.segment_column:
            values["slice_column"] = self.segment_column
        return GateConfig.from_dict(values)

    def compare(self, challenger: Evaluation, champion: Evaluation | None) -> GateDecision:
        """Judge ``challenger`` against ``champion`` (None: no champion yet); override to
        change the rules. Default: :meth:`Gate.compare` with :meth:`gate_config`."""
        return Gate(self.gate_config()).compare(challenger, champion)

    def traffic(self) -> tuple[pd.DataFrame, str] | None:
        """The recent traffic for the shadow comparison (None: no inference log rows)."""
        from airflow_mlops.model_registry.shadow import recent_traffic

        if self.shadow_days == 0:
            return None
        root = self.inference_log_root or MlopsHome.from_env().inference_log
        return recent_traffic(root, self.model_name, days=self.shadow_days)

    def serving_python(self) -> str | None:
        """The serving runtime's Python (None: no infra blessing); ``"auto"`` makes it."""
        from airflow_mlops.serving.runtime import ensure_runtime

        if not self.serving_runtime:
            return None
        if self.serving_runtime == AUTO_RUNTIME:
            return str(ensure_runtime(MlopsHome.from_env().artifacts))
        return str(self.serving_runtime)

    def execute(self, context: Context) -> dict[str, Any]:
        from airflow_mlops.data.io import read_table
        from airflow_mlops.model_registry.evaluation import evaluate_and_promote

        check_arguments(self, self.argument_rules, rendered=True)
        try:
            outcome = evaluate_and_promote(
                MlflowHook(self.mlflow_conn_id).get_tracking_uri(),
                self.model_name,
                str(self.challenger_version),
                read_table(self.holdout_uri),
                config=self.gate_config(),
                compare=self.compare,
                promote=as_bool(self.promote, "promote"),
                traffic=self.traffic(),
                serving_python=self.serving_python(),
            )
        except MlopsError as error:
            raise self.fail(error) from error
        self.log.info(
            "Challenger v%s %s: %s. Champion: v%s -> v%s. Report: %s",
            outcome.challenger_version,
            "accepted" if outcome.accepted else "rejected",
            "; ".join(outcome.reasons),
            outcome.champion_before,
            outcome.champion_after,
            outcome.report_uri,
        )
        if not outcome.accepted and self.fail_on_reject:
            raise GateRejectedError(
                f"Challenger v{outcome.challenger_version} of {self.model_name!r} was rejected: "
                + "; ".join(outcome.reasons)
                + f". Champion stays v{outcome.champion_before}. Full report: "
                f"{outcome.report_uri}",
                details=outcome.to_dict(),
            )
        return outcome.to_dict()
