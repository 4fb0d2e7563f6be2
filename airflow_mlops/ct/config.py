"""Typed configuration of one continuous-training pipeline: the input of the DAG factory.

A data engineer describes a dataset and a model in about 20 lines; the factory turns it into a
complete level-1 CT DAG. Every field is checked on creation, and the message names the field.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from airflow_mlops.ct.params import FIELDS, parse_run_params
from airflow_mlops.ct.triggers import TriggerPolicy
from airflow_mlops.errors import ConfigError

_IDENTIFIER = re.compile(r"^[A-Za-z][A-Za-z0-9_.-]{0,99}$")
TASKS = ("classification", "regression")
GPU_MODES = ("auto", "required", "none")
BACKENDS = ("docker", "local")


def _require(condition: bool, field_name: str, value: Any, rule: str) -> None:
    if not condition:
        raise ConfigError(f"{field_name}={value!r}: {rule}.", hint=f"Fix {field_name}.")


@dataclass(frozen=True)
class DatasetSpec:
    """A versioned dataset in a DVC data registry.

    :param name: short name; names the data-arrival asset (``mlops://data/<name>``).
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
        _require(
            bool(_IDENTIFIER.match(self.name)),
            "DatasetSpec.name",
            self.name,
            "use letters, digits, '_', '.', '-' and start with a letter",
        )
        _require(bool(self.registry), "DatasetSpec.registry", self.registry, "must not be empty")
        _require(
            bool(self.path) and ".." not in self.path.split("/") and not self.path.startswith("/"),
            "DatasetSpec.path",
            self.path,
            "must be a relative path inside the registry",
        )
        _require(self.task in TASKS, "DatasetSpec.task", self.task, f"one of {TASKS}")
        parse_run_params({"data_rev": self.default_rev})


@dataclass(frozen=True)
class CTPipelineConfig:
    """Everything the DAG factory needs to build a level-1 CT DAG for one model.

    :param dag_id: the DAG id.
    :param model_name: the registered model name in MLflow.
    :param dataset: the training data.
    :param triggers: which of the five triggers start a run.
    :param training_defaults: defaults of the run params (epochs, learning_rate, ...).
    :param training_image: the training image; None reads the Airflow Variable that the
        level-2 DAG sets (``airflow_mlops_training_image``).
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
        _require(
            bool(_IDENTIFIER.match(self.dag_id)),
            "dag_id",
            self.dag_id,
            "use letters, digits, '_', '.', '-' and start with a letter",
        )
        _require(
            bool(_IDENTIFIER.match(self.model_name)),
            "model_name",
            self.model_name,
            "use letters, digits, '_', '.', '-' and start with a letter",
        )
        _require(self.backend in BACKENDS, "backend", self.backend, f"one of {BACKENDS}")
        _require(self.gpu in GPU_MODES, "gpu", self.gpu, f"one of {GPU_MODES}")
        _require(0 <= self.retries <= 10, "retries", self.retries, "between 0 and 10")
        _require(
            1 <= self.retry_delay_s <= 86_400,
            "retry_delay_s",
            self.retry_delay_s,
            "between 1 and 86400 seconds",
        )
        _require(
            1 <= self.max_active_runs <= 16,
            "max_active_runs",
            self.max_active_runs,
            "between 1 and 16",
        )
        known = {f.name for f in FIELDS}
        _require(
            set(self.training_defaults) <= known,
            "training_defaults",
            sorted(set(self.training_defaults) - known),
            f"known keys are {sorted(known)}",
        )
        parse_run_params(self.training_defaults)
        parse_run_params({"data_rev": self.validation_reference_rev})

    def param_defaults(self) -> dict[str, Any]:
        """The run params' defaults: the table's, overridden by this pipeline's."""
        defaults = {f.name: f.default for f in FIELDS}
        defaults["data_rev"] = self.dataset.default_rev
        return {**defaults, **self.training_defaults}
