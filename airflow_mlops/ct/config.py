"""Typed configuration of one continuous-training pipeline: the input of the DAG factory.

A data engineer describes a dataset and a model in about 20 lines; the factory turns it into a
complete level-1 CT DAG. Every field is checked on creation, and the message names the field.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from airflow_mlops.ct.params import FIELDS, parse_run_params
from airflow_mlops.ct.triggers import TriggerPolicy
from airflow_mlops.errors import ConfigError
from airflow_mlops.inputs import (
    check_choice,
    check_git_source,
    check_image,
    check_int,
    check_mapping,
    check_name,
    check_path,
    check_relative_path,
    check_rev,
    check_text,
    fail,
    rule,
)

TASKS = ("classification", "regression")
GPU_MODES = ("auto", "required", "none")
BACKENDS = ("docker", "local")


def _check_all(owner: object, prefix: str, rules: dict[str, Any]) -> None:
    """Apply ``rules`` (field -> ``(name, value)`` check) to the fields of ``owner``."""
    for name, check in rules.items():
        check(f"{prefix}{name}", getattr(owner, name))


@dataclass(frozen=True)
class DatasetSpec:
    """A versioned dataset in a DVC data registry.

    :param name: short name; names the data-arrival asset (``x-mlops://data/<name>``).
    :param registry: the registry's git URL or local path.
    :param path: the DVC-tracked file inside the registry (CSV or Parquet).
    :param label: the label column.
    :param task: ``classification`` or ``regression``.
    :param segment_column: a column whose slices the promotion gate checks, or None.
    :param default_rev: the revision trained on when a run names none.
    :param remote_aws_conn_id: Airflow AWS connection for an S3 DVC remote, or None.
    """

    name: str
    registry: str
    path: str
    label: str
    task: str = "classification"
    segment_column: str | None = None
    default_rev: str = "main"
    remote_aws_conn_id: str | None = None

    def __post_init__(self) -> None:
        _check_all(
            self,
            "DatasetSpec.",
            {
                "name": check_name,
                "registry": check_git_source,
                "path": check_relative_path,
                "label": rule(check_text, max_length=256),
                "task": rule(check_choice, TASKS),
                "segment_column": rule(check_text, max_length=256, allow_none=True),
                "default_rev": check_rev,
                "remote_aws_conn_id": rule(check_name, allow_none=True),
            },
        )


@dataclass(frozen=True)
class CTPipelineConfig:
    """Everything the DAG factory needs to build a level-1 CT DAG for one model.

    :param dag_id: the DAG id.
    :param model_name: the registered model name in MLflow.
    :param dataset: the training data.
    :param triggers: which of the five triggers start a run.
    :param training_defaults: defaults of the run params (epochs, learning_rate, ...).
    :param training_image: the training image; None reads the Airflow Variable that the
        level-2 DAG sets (``mlops_training_image``).
    :param backend: ``docker`` (default) or ``local`` (a subprocess, for machines without Docker).
    :param gpu: ``auto``, ``required`` or ``none``.
    :param gate: keyword arguments of the promotion gate (thresholds, min improvement, ...).
    :param validation_suite: a GX suite JSON to validate against; None learns one from the
        reference version ``validation_reference_rev``.
    :param mlflow_conn_id: the Airflow connection of the MLflow tracking server.
    :param retries: how often a failed task is retried.
    :param retry_delay_s: seconds between a task's failure and its retry.
    """

    dag_id: str
    model_name: str
    dataset: DatasetSpec
    triggers: TriggerPolicy = field(default_factory=TriggerPolicy)
    training_defaults: dict[str, Any] = field(default_factory=dict)
    training_image: str | None = None
    backend: str = "docker"
    gpu: str = "auto"
    gate: dict[str, Any] = field(default_factory=dict)
    validation_suite: str | None = None
    validation_reference_rev: str = "v1"
    mlflow_conn_id: str = "mlflow_default"
    owner: str = "mlops"
    tags: tuple[str, ...] = ("mlops",)
    retries: int = 1
    retry_delay_s: int = 30
    max_active_runs: int = 1
    doc_md: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.dataset, DatasetSpec):
            raise fail("dataset", self.dataset, "must be a DatasetSpec")
        if not isinstance(self.triggers, TriggerPolicy):
            raise fail("triggers", self.triggers, "must be a TriggerPolicy")
        if isinstance(self.tags, list):
            object.__setattr__(self, "tags", tuple(self.tags))
        _check_all(
            self,
            "",
            {
                "dag_id": check_name,
                "model_name": check_name,
                "training_defaults": check_mapping,
                "training_image": rule(check_image, allow_none=True),
                "backend": rule(check_choice, BACKENDS),
                "gpu": rule(check_choice, GPU_MODES),
                "gate": check_mapping,
                "validation_suite": rule(check_path, allow_none=True),
                "validation_reference_rev": check_rev,
                "mlflow_conn_id": check_name,
                "owner": rule(check_text, max_length=256),
                "tags": _check_tags,
                "retries": rule(check_int, 0, 10),
                "retry_delay_s": rule(check_int, 1, 86_400),
                "max_active_runs": rule(check_int, 1, 16),
                "doc_md": rule(_check_doc, allow_none=True),
            },
        )
        known = {f.name for f in FIELDS}
        unknown = sorted(set(self.training_defaults) - known)
        if unknown:
            raise fail("training_defaults", unknown, f"known keys are {sorted(known)}")
        try:
            parse_run_params(self.training_defaults)
        except ConfigError as error:
            raise ConfigError(f"training_defaults: {error.message}", hint=error.hint) from error
        from airflow_mlops.model_registry.gate import GateConfig

        GateConfig.from_dict(self.gate)

    def param_defaults(self) -> dict[str, Any]:
        """The run params' defaults: the table's, overridden by this pipeline's."""
        defaults = {f.name: f.default for f in FIELDS}
        defaults["data_rev"] = self.dataset.default_rev
        return {**defaults, **self.training_defaults}


def _check_tags(name: str, value: Any) -> tuple[str, ...]:
    if not isinstance(value, tuple):
        raise fail(name, value, "must be a list of tag strings")
    for tag in value:
        check_text(name, tag, max_length=100)
    return value


def _check_doc(name: str, value: Any) -> str:
    if not isinstance(value, str):
        raise fail(name, value, "must be Markdown text")
    return value
