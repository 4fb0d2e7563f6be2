"""SkipIfTrainedOperator: skip training when the CT fingerprint is already registered."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from airflow.sdk.bases.skipmixin import SkipMixin

from airflow_mlops.errors import MlopsError
from airflow_mlops.hooks.mlflow import MlflowHook
from airflow_mlops.inputs import check_bool, check_name, check_pattern, check_text, rule
from airflow_mlops.lineage import fingerprint
from airflow_mlops.operators.arguments import check_arguments
from airflow_mlops.operators.mlflow_base import (
    MlflowOperator,
    RegistrationError,
    as_mapping,
    check_mapping_or_json,
)

if TYPE_CHECKING:
    from airflow.sdk import Context

#: what the fingerprint uses when no training image digest is given
UNPINNED_IMAGE = "unpinned"
#: a DVC md5: a file's, or a directory's with the ``.dir`` suffix
MD5_PATTERN = r"^[0-9a-f]{32}(\.dir)?$"


class SkipIfTrainedOperator(MlflowOperator, SkipMixin):
    """Skip training when a version with the same CT fingerprint is already registered.

    The fingerprint is ``sha256(data md5, training image digest, params, model code, pipeline
    git sha)`` (:func:`airflow_mlops.lineage.fingerprint`). When a version of ``model_name``
    carries it (tag ``mlops.fingerprint``) and the gate is done with it
    (:func:`~airflow_mlops.model_registry.client.evaluation_finished`), every downstream task is
    skipped (like ShortCircuitOperator). When its run failed in evaluation or promotion, the
    run resumes from that version: every downstream task but ``resume_task_ids`` is skipped
    (those evaluate it again). Otherwise the run goes on. Either way the XCom is
    ``{"fingerprint", "trained", "version", "evaluated"}``, which the registration and the
    gate use. A new fingerprint is reserved in the registry before training
    (:func:`~airflow_mlops.model_registry.reserve.reserve_fingerprint`): when another CT run of
    any DAG holds it, every downstream task is skipped and the XCom adds ``reserved_by``.

    :param model_name: the registered model. (templated)
    :param data_md5: DVC md5 of the training data. (templated)
    :param training_params: the training params, a dict (not ``params``: that name is
        Airflow's task params). (templated)
    :param image_digest: digest of the training image; None records ``"unpinned"``, which
        makes image changes invisible to the check: pass the digest in production. (templated)
    :param model_code: the model code's fingerprint
        (:func:`airflow_mlops.training.code.model_code_fingerprint`), or None. (templated)
    :param git_sha: the commit of the pipeline repository, or None. (templated)
    :param resume_task_ids: the downstream tasks that still run when the version with this
        fingerprint was never evaluated to the end (the gate); empty = skip them all too.
    :param ignore_downstream_trigger_rules: True skips every downstream task; False only the
        direct ones, leaving the others to their trigger rules.
    :param mlflow_conn_id: the Airflow connection of the MLflow server.
    """

    template_fields: Sequence[str] = (
        "model_name",
        "data_md5",
        "training_params",
        "image_digest",
        "model_code",
        "git_sha",
    )
    ui_color = "#f0e4ff"
    argument_rules = {
        "model_name": check_name,
        "data_md5": rule(check_pattern, MD5_PATTERN, "must be a DVC md5 (32 hex digits)"),
        "training_params": check_mapping_or_json,
        "image_digest": rule(check_text, max_length=512, allow_none=True),
        "model_code": rule(check_text, max_length=512, allow_none=True),
        "git_sha": rule(check_text, max_length=512, allow_none=True),
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
        model_code: str | None = None,
        git_sha: str | None = None,
        resume_task_ids: Sequence[str] = (),
        ignore_downstream_trigger_rules: bool = True,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.model_name = model_name
        self.data_md5 = data_md5
        self.training_params = training_params
        self.image_digest = image_digest
        self.model_code = model_code
        self.git_sha = git_sha
        self.resume_task_ids = tuple(resume_task_ids)
        self.ignore_downstream_trigger_rules = ignore_downstream_trigger_rules
        check_arguments(self, self.argument_rules, rendered=False)

    def execute(self, context: Context) -> dict[str, Any]:
        from airflow_mlops.model_registry.client import evaluation_finished, find_trained_version
        from airflow_mlops.model_registry.reserve import reserve_fingerprint

        check_arguments(self, self.argument_rules, rendered=True)
        holder = None
        try:
            params = as_mapping(self.training_params, "training_params")
            digest = self.image_digest or UNPINNED_IMAGE
            ct_print = fingerprint(
                str(self.data_md5),
                digest,
                params,
                model_code=self.model_code or None,
                git_sha=self.git_sha or None,
            )
            tracking_uri = MlflowHook(self.mlflow_conn_id).get_tracking_uri()
            known = find_trained_version(tracking_uri, self.model_name, ct_print)
            if known is None:
                ti = context["ti"]
                one_at_a_time = self.has_dag() and self.dag.max_active_runs == 1
                reservation = reserve_fingerprint(
                    tracking_uri,
                    self.model_name,
                    ct_print,
                    owner=f"{ti.dag_id}/{ti.run_id}",
                    group=ti.dag_id if one_at_a_time else None,
                )
                known, holder = reservation.version, reservation.holder
            finished = known is not None and (
                not self.resume_task_ids
                or evaluation_finished(tracking_uri, self.model_name, known)
            )
        except MlopsError as error:
            raise self.fail(error) from error
        result = {
            "fingerprint": ct_print,
            "trained": known is not None,
            "version": known,
            "evaluated": finished,
        }
        if known is None and holder is None:
            self.log.info("Fingerprint %s is new for %s: train.", ct_print, self.model_name)
            return result
        if holder is not None:
            result["reserved_by"] = holder
            self.log.info(
                "Fingerprint %s of %s is reserved by CT run %s, which trains it: skipping the "
                "downstream tasks.",
                ct_print,
                self.model_name,
                holder.get("owner"),
            )
        elif finished:
            self.log.info(
                "Version %s of %s already has fingerprint %s (same data, image, params, model "
                "code and pipeline commit) and was evaluated: skipping the downstream tasks.",
                known,
                self.model_name,
                ct_print,
            )
        else:
            self.log.info(
                "Version %s of %s has fingerprint %s but its gate never finished: resuming "
                "from it (%s run again, training is skipped).",
                known,
                self.model_name,
                ct_print,
                ", ".join(self.resume_task_ids),
            )
        # skip() ends the task by raising, so the result is pushed first
        context["ti"].xcom_push(key="return_value", value=result)
        task = context["task"]
        relatives = (
            task.get_flat_relatives(upstream=False)
            if self.ignore_downstream_trigger_rules
            else task.get_direct_relatives(upstream=False)
        )
        resumed = set() if finished or holder is not None else set(self.resume_task_ids)
        skipped = [t for t in relatives if not t.is_teardown and t.task_id not in resumed]
        self.skip(ti=context["ti"], tasks=skipped)
        return result
