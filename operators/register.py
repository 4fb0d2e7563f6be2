"""RegisterModelOperator: log an ONNX model to MLflow with its lineage and register a version."""

from __future__ import annotations

import contextlib
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from airflow_mlops.errors import MlopsError
from airflow_mlops.hooks.mlflow import MlflowHook
from airflow_mlops.inputs import (
    check_alias,
    check_name,
    check_path,
    check_pattern,
    check_text,
    rule,
)
from airflow_mlops.lineage import Lineage, pipeline_git_sha
from airflow_mlops.operators.arguments import check_arguments
from airflow_mlops.operators.mlflow_base import (
    MlflowOperator,
    RegistrationError,
    as_mapping,
    check_mapping_or_json,
)
from airflow_mlops.plugins.links import MlflowModelVersionLink, MlflowRunLink

if TYPE_CHECKING:
    from airflow.sdk import Context


class RegisterModelOperator(MlflowOperator):
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
    operator_extra_links = (MlflowRunLink(), MlflowModelVersionLink())
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
