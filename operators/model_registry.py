"""MLflow operators: skip known fingerprints, register with lineage, gate and promote, roll back.

All take ``mlflow_conn_id`` (an Airflow connection of type ``mlflow``; falls back to
``MLFLOW_TRACKING_URI``) and push small JSON dicts of references to XCom.
"""

from __future__ import annotations

import ast
import contextlib
import json
import shutil
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseOperator
from airflow.sdk.bases.skipmixin import SkipMixin

from airflow_mlops.errors import ConfigError, MlopsError
from airflow_mlops.hooks.mlflow import MlflowHook
from airflow_mlops.inputs import (
    check_alias,
    check_bool,
    check_name,
    check_path,
    check_pattern,
    check_text,
    check_version,
    check_version_or_alias,
    fail,
    rule,
)
from airflow_mlops.lineage import Lineage, fingerprint, pipeline_git_sha
from airflow_mlops.model_registry.gate import Gate, GateConfig
from airflow_mlops.operators.arguments import check_arguments
from airflow_mlops.operators.exceptions import MlopsTaskError
from airflow_mlops.settings import MlopsHome

if TYPE_CHECKING:
    import pandas as pd
    from airflow.sdk import Context

    from airflow_mlops.model_registry.gate import Evaluation, GateDecision

#: what the fingerprint uses when no training image digest is given
UNPINNED_IMAGE = "unpinned"


class RegistrationError(MlopsTaskError):
    """The model could not be registered (invalid file, MLflow refused or unreachable)."""


class PromotionError(MlopsTaskError):
    """The gate could not run, or the champion moved meanwhile (nothing was promoted)."""


class GateRejectedError(MlopsTaskError):
    """The challenger failed the gate and the operator was told to fail on rejection."""


def as_mapping(value: Any, name: str) -> dict[str, Any]:
    """A dict from a dict, a JSON string or a Python-literal string (a rendered template).

    :raises ConfigError: the value is neither.
    """
    if value is None or value == "":
        return {}
    if isinstance(value, Mapping):
        return dict(value)
    if isinstance(value, str):
        for parse in (json.loads, ast.literal_eval):
            try:
                parsed = parse(value)
            except (ValueError, SyntaxError):
                continue
            if isinstance(parsed, Mapping):
                return dict(parsed)
    raise ConfigError(
        f"{name} must be a dict (or its JSON text), got {value!r}.",
        hint=f"Pass {name} as a dict, or render it with render_template_as_native_obj=True.",
    )


def as_bool(value: Any, name: str) -> bool:
    """A bool from a bool or a rendered template (``"True"``, ``"false"``, ``"1"``, ...)."""
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("true", "1", "yes"):
        return True
    if text in ("false", "0", "no", "none", ""):
        return False
    raise ConfigError(f"{name} must be true or false, got {value!r}.", hint="Pass a boolean.")


#: a DVC md5: a file's, or a directory's with the ``.dir`` suffix
MD5_PATTERN = r"^[0-9a-f]{32}(\.dir)?$"


def check_mapping_or_json(name: str, value: Any) -> dict[str, Any]:
    """A dict, or its JSON / Python-literal text (see :func:`as_mapping`)."""
    try:
        return as_mapping(value, name)
    except ConfigError as error:
        raise fail(name, value, "must be a dict or its JSON text") from error


def check_gate(name: str, value: Any) -> GateConfig:
    """A gate config: a :class:`GateConfig`, a dict of its fields or its JSON text."""
    return value if isinstance(value, GateConfig) else GateConfig.from_dict(as_mapping(value, name))


class _MlflowOperator(BaseOperator):
    """Shared by the MLflow operators: the connection and core-error wrapping."""

    error_class: type[MlopsTaskError] = MlopsTaskError

    def __init__(self, *, mlflow_conn_id: str = MlflowHook.default_conn_name, **kwargs: Any):
        super().__init__(**kwargs)
        self.mlflow_conn_id = mlflow_conn_id

    def fail(self, error: MlopsError) -> MlopsTaskError:
        """The task error for a core error; says where the full details are."""
        where = f"\nFull details: the log of task {self.task_id!r}."
        return self.error_class(f"{error}{where}", details=error.details)


class SkipIfTrainedOperator(_MlflowOperator, SkipMixin):
    """Skip training when a version with the same CT fingerprint is already registered.

    The fingerprint is ``sha256(data md5, training image digest, params)``
    (:func:`airflow_mlops.lineage.fingerprint`). When a version of ``model_name`` carries it
    (tag ``mlops.fingerprint``), every downstream task is skipped (like ShortCircuitOperator);
    otherwise the run goes on. Either way the XCom is ``{"fingerprint", "trained", "version"}``,
    which the registration uses.

    :param model_name: the registered model. (templated)
    :param data_md5: DVC md5 of the training data. (templated)
    :param training_params: the training params, a dict (not ``params``: that name is
        Airflow's task params). (templated)
    :param image_digest: digest of the training image; None records ``"unpinned"``, which
        makes image changes invisible to the check: pass the digest in production. (templated)
    :param ignore_downstream_trigger_rules: True skips every downstream task; False only the
        direct ones, leaving the others to their trigger rules.
    :param mlflow_conn_id: the Airflow connection of the MLflow server.
    """

    template_fields: Sequence[str] = ("model_name", "data_md5", "training_params", "image_digest")
    ui_color = "#f0e4ff"
    argument_rules = {
        "model_name": check_name,
        "data_md5": rule(check_pattern, MD5_PATTERN, "must be a DVC md5 (32 hex digits)"),
        "training_params": check_mapping_or_json,
        "image_digest": rule(check_text, max_length=512, allow_none=True),
        "mlflow_conn_id": check_name,
        "ignore_downstream_trigger_rules": check_bool,
    }
    inherits_from_skipmixin = True
    error_class = RegistrationError

    def __init__(
        self,
        *,
        model_name: str,
        data_md5: str,
        training_params: dict[str, Any] | str,
        image_digest: str | None = None,
        ignore_downstream_trigger_rules: bool = True,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.model_name = model_name
        self.data_md5 = data_md5
        self.training_params = training_params
        self.image_digest = image_digest
        self.ignore_downstream_trigger_rules = ignore_downstream_trigger_rules
        check_arguments(self, self.argument_rules, rendered=False)

    def execute(self, context: Context) -> dict[str, Any]:
        from airflow_mlops.model_registry.client import find_trained_version

        check_arguments(self, self.argument_rules, rendered=True)
        try:
            params = as_mapping(self.training_params, "training_params")
            digest = self.image_digest or UNPINNED_IMAGE
            ct_print = fingerprint(str(self.data_md5), digest, params)
            known = find_trained_version(
                MlflowHook(self.mlflow_conn_id).get_tracking_uri(), self.model_name, ct_print
            )
        except MlopsError as error:
            raise self.fail(error) from error
        result = {"fingerprint": ct_print, "trained": known is not None, "version": known}
        if known is None:
            self.log.info("Fingerprint %s is new for %s: train.", ct_print, self.model_name)
            return result
        self.log.info(
            "Version %s of %s already has fingerprint %s (same data, image and params): "
            "skipping the downstream tasks.",
            known,
            self.model_name,
            ct_print,
        )
        # skip() ends the task by raising, so the result is pushed first
        context["ti"].xcom_push(key="return_value", value=result)
        task = context["task"]
        relatives = (
            task.get_flat_relatives(upstream=False)
            if self.ignore_downstream_trigger_rules
            else task.get_direct_relatives(upstream=False)
        )
        self.skip(ti=context["ti"], tasks=[t for t in relatives if not t.is_teardown])
        return result


class RegisterModelOperator(_MlflowOperator):
    """Log an ONNX model to MLflow with lineage, register a version, point ``challenger`` at it.

    Lineage tags (``mlops.*``) go on the version and its run: the ``lineage`` dict (dataset,
    data_rev, data_commit, data_md5, validation_outcome, trigger, params, ...) completed with
    the DAG id, run id, pipeline git sha, image digest, fingerprint, parity and batch-1 latency.
    Idempotent: a retry of the same DAG run (same fingerprint) returns the version it made.
    XCom: ``{"name", "version", "run_id", "model_uri", "onnx_sha256", "alias", "reused"}``.

    :param model_name: the registered model. (templated)
    :param onnx_uri: the ONNX file: a local path, ``file://`` or any ObjectStoragePath URI.
        (templated)
    :param lineage: lineage fields (see :class:`airflow_mlops.lineage.Lineage`). (templated)
    :param training_result: the training task's XCom; its ``metrics`` are logged, its
        ``image_digest`` recorded. (templated)
    :param export_result: the export task's XCom; ``parity_max_abs`` and the batch-1 p50
        latency are recorded. (templated)
    :param fingerprint: the CT fingerprint (from :class:`SkipIfTrainedOperator`). (templated)
    :param image_digest: the training image digest, if not in ``training_result``. (templated)
    :param example_uri: a table whose first rows become the input example. (templated)
    :param experiment: the MLflow experiment; default ``ct/<model_name>``. (templated)
    :param alias: the alias to set on the new version.
    :param mlflow_conn_id: the Airflow connection of the MLflow server.
    """

    template_fields: Sequence[str] = (
        "model_name",
        "onnx_uri",
        "lineage",
        "training_result",
        "export_result",
        "fingerprint",
        "image_digest",
        "example_uri",
        "experiment",
    )
    ui_color = "#d9f2ff"
    error_class = RegistrationError
    argument_rules = {
        "model_name": check_name,
        "onnx_uri": check_path,
        "lineage": rule(check_mapping_or_json, allow_none=True),
        "training_result": rule(check_mapping_or_json, allow_none=True),
        "export_result": rule(check_mapping_or_json, allow_none=True),
        "fingerprint": rule(
            check_pattern, r"^([0-9a-f]{64})?$", "must be a sha256 (64 hex digits)", allow_none=True
        ),
        "image_digest": rule(check_text, max_length=512, allow_none=True),
        "example_uri": rule(check_path, allow_none=True),
        "experiment": rule(check_text, max_length=500, allow_none=True),
        "alias": check_alias,
        "mlflow_conn_id": check_name,
    }

    def __init__(
        self,
        *,
        model_name: str,
        onnx_uri: str,
        lineage: dict[str, Any] | str | None = None,
        training_result: dict[str, Any] | str | None = None,
        export_result: dict[str, Any] | str | None = None,
        fingerprint: str | None = None,
        image_digest: str | None = None,
        example_uri: str | None = None,
        experiment: str | None = None,
        alias: str = "challenger",
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.model_name = model_name
        self.onnx_uri = onnx_uri
        self.lineage = lineage
        self.training_result = training_result
        self.export_result = export_result
        self.fingerprint = fingerprint
        self.image_digest = image_digest
        self.example_uri = example_uri
        self.experiment = experiment
        self.alias = alias
        check_arguments(self, self.argument_rules, rendered=False)

    def build_lineage(self, context: Context) -> Lineage:
        """The lineage of this run: the ``lineage`` argument completed from the context."""
        from airflow_mlops.ct.triggers import classify_trigger

        given = as_mapping(self.lineage, "lineage")
        training = as_mapping(self.training_result, "training_result")
        export = as_mapping(self.export_result, "export_result")
        dag_run = context["dag_run"]
        if "params" in given:
            given["params"] = as_mapping(given["params"], "lineage.params")
        latency = as_mapping(export.get("latency"), "export_result.latency")
        derived = {
            "dag_id": context["dag"].dag_id,
            "run_id": context["run_id"],
            "git_sha": pipeline_git_sha(),
            "image_digest": self.image_digest or training.get("image_digest"),
            "fingerprint": self.fingerprint or None,
            "trigger": classify_trigger(dag_run.run_type, dag_run.conf, []).reason,
            "parity_max_abs": export.get("parity_max_abs"),
            "latency_p50_ms_b1": as_mapping(latency.get("batch_1"), "latency.batch_1").get(
                "p50_ms"
            ),
        }
        return Lineage.from_mapping({**derived, **{k: v for k, v in given.items() if v}})

    def execute(self, context: Context) -> dict[str, Any]:
        from airflow_mlops.model_registry.register import register_onnx_model

        check_arguments(self, self.argument_rules, rendered=True)
        try:
            lineage = self.build_lineage(context)
            training = as_mapping(self.training_result, "training_result")
            example = _read_example(self.example_uri)
            with _local_copy(str(self.onnx_uri)) as onnx_path:
                done = register_onnx_model(
                    MlflowHook(self.mlflow_conn_id).get_tracking_uri(),
                    self.model_name,
                    onnx_path,
                    lineage,
                    metrics=as_mapping(training.get("metrics"), "training_result.metrics"),
                    params=lineage.params or {},
                    example=example,
                    experiment=self.experiment or None,
                    alias=self.alias,
                )
        except MlopsError as error:
            raise self.fail(error) from error
        self.log.info(
            "%s version %s of %s (run %s), alias %r",
            "Reused" if done.reused else "Registered",
            done.version,
            done.name,
            done.run_id,
            done.alias,
        )
        return done.to_dict()


def _read_example(uri: str | None) -> Any:
    if not uri:
        return None
    from airflow_mlops.data.io import read_table

    return read_table(uri).head(5)


@contextlib.contextmanager
def _local_copy(uri: str) -> Iterator[Path]:
    """A local path for ``uri``: the file itself when local, else a temporary copy."""
    if "://" not in uri or uri.startswith("file://"):
        yield Path(uri.removeprefix("file://"))
        return
    from airflow.sdk import ObjectStoragePath

    with tempfile.TemporaryDirectory(prefix="mlops-onnx-") as scratch:
        target = Path(scratch) / "model.onnx"
        with ObjectStoragePath(uri).open("rb") as source, target.open("wb") as sink:
            shutil.copyfileobj(source, sink)
        yield target


class EvaluateAndPromoteOperator(_MlflowOperator):
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
        rule ``min_shadow_agreement``). Default ``<artifacts>/inference_log``. (templated)
    :param shadow_days: how many days of traffic the shadow comparison reads (0: none).
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
    )
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


class RollbackChampionOperator(_MlflowOperator):
    """Point ``champion`` back at ``previous`` (the champion before the last promotion).

    XCom: ``{"name", "champion", "previous", "moved_from", "already"}``; a retry after a
    successful rollback returns it with ``already=True``.

    :param model_name: the registered model. (templated)
    :param expected_champion: fail unless the champion is this version (None: any). (templated)
    :param mlflow_conn_id: the Airflow connection of the MLflow server.
    """

    template_fields: Sequence[str] = ("model_name", "expected_champion")
    ui_color = "#ffd6d6"
    error_class = PromotionError
    argument_rules = {
        "model_name": check_name,
        "expected_champion": rule(check_version, allow_blank=True),
        "mlflow_conn_id": check_name,
    }

    def __init__(
        self, *, model_name: str, expected_champion: str | None = None, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.model_name = model_name
        self.expected_champion = expected_champion
        check_arguments(self, self.argument_rules, rendered=False)

    def execute(self, context: Context) -> dict[str, Any]:
        from airflow_mlops.model_registry.promote import rollback

        check_arguments(self, self.argument_rules, rendered=True)
        try:
            move = rollback(
                MlflowHook(self.mlflow_conn_id).get_tracking_uri(),
                self.model_name,
                expected_champion=str(self.expected_champion) if self.expected_champion else None,
            )
        except MlopsError as error:
            raise self.fail(error) from error
        self.log.info("Champion of %s: v%s (was v%s)", move.name, move.champion, move.moved_from)
        return move.to_dict()
