"""Typed configuration of one continuous-training pipeline: the input of the DAG factory.

A data engineer describes a dataset and a model in about 20 lines; the factory turns it into a
complete level-1 CT DAG. Every field is checked on creation: a bad config raises one
:class:`~airflow_mlops.errors.ConfigError` that lists every problem, each naming its field.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from airflow_mlops.ct.budget import ComputeBudget
from airflow_mlops.ct.params import FIELDS, parse_run_params
from airflow_mlops.ct.triggers import TriggerPolicy
from airflow_mlops.errors import ConfigError
from airflow_mlops.inputs import (
    check_choice,
    check_git_source,
    check_image,
    check_int,
    check_mapping,
    check_markdown,
    check_name,
    check_path,
    check_pattern,
    check_relative_path,
    check_rev,
    check_tags,
    check_text,
    fail,
    rule,
)
from airflow_mlops.lineage import DATA_COMMIT_TAG, DATA_REV_TAG
from airflow_mlops.training.container import KubernetesTraining

#: the learning tasks; ``None`` (or the older ``"classification"``) infers the task from the label
TASKS = ("binary", "multiclass", "regression")
#: accepted for older configs: binary or multiclass, told apart from the data at training time
CLASSIFICATION = "classification"
#: each task's gate metrics, the default first; the direction of each is in :func:`gate_metric`
TASK_GATE_METRICS = {
    "binary": ("accuracy", "f1", "roc_auc", "log_loss"),
    "multiclass": ("accuracy", "f1", "log_loss"),
    "regression": ("rmse", "mae", "r2"),
}
GPU_MODES = ("auto", "required", "none")
BACKENDS = ("docker", "local", "kubernetes")
#: ``"package.module:function"``, the form of a user's model factory
FACTORY_PATTERN = r"^[A-Za-z_][\w]*(\.[A-Za-z_][\w]*)*:[A-Za-z_][\w]*$(?!\n)"
#: the lineage tags that say which data version a model was trained on, most exact first
REFERENCE_TAGS = (DATA_COMMIT_TAG, DATA_REV_TAG)


class _Problems:
    """Collects every problem of one config, so a single error lists them all."""

    def __init__(self) -> None:
        self.messages: list[str] = []

    def check(self, name: str, check: Callable[[str, Any], Any], value: Any) -> None:
        try:
            check(name, value)
        except ConfigError as error:
            self.messages.append(error.message.rstrip("."))

    def need(self, ok: bool, name: str, value: Any, rule: str) -> None:
        if not ok:
            self.messages.append(fail(name, value, rule).message.rstrip("."))

    def raise_if_any(self, owner: str) -> None:
        if not self.messages:
            return
        count = len(self.messages)
        raise ConfigError(
            f"{owner} has {count} problem{'s' if count > 1 else ''}: "
            + "; ".join(self.messages)
            + ".",
            hint="Fix each field named above (each shows the bad value and the rule).",
            details={"problems": list(self.messages)},
        )


def _columns(name: str, value: Any) -> tuple[str, ...]:
    """A list of distinct column names."""
    if not isinstance(value, list | tuple) or isinstance(value, str):
        raise fail(name, value, "must be a list of column names")
    for column in value:
        check_text(name, column, max_length=256)
    if len(set(value)) != len(value):
        raise fail(name, value, "must not name a column twice")
    return tuple(value)


def _names(values: Any) -> set[str]:
    """The column names among ``values`` (other values were reported by their own check)."""
    if not isinstance(values, tuple):
        return set()
    return {value for value in values if isinstance(value, str)}


def _as_tuple(owner: object, *names: str) -> None:
    for name in names:
        value = getattr(owner, name)
        if isinstance(value, list):
            object.__setattr__(owner, name, tuple(value))


@dataclass(frozen=True)
class DatasetSpec:
    """A versioned dataset in a DVC data registry, and how to read it.

    :param name: short name; names the data-arrival asset (``x-mlops://data/<name>``).
    :param registry: the registry's git URL or local path.
    :param path: the DVC-tracked file inside the registry (CSV or Parquet), e.g.
        ``data/train.csv``.
    :param label: the label column, e.g. ``"label"``.
    :param task: ``binary``, ``multiclass`` or ``regression``; None infers it from the label at
        training time (``classification``, the older value, infers binary or multiclass).
    :param id_column: a row id column: never a feature, must be unique, and keeps rows apart
        across the train/validation split; None = no id column.
    :param timestamp_column: a column with each row's time: never a feature; None = none.
    :param feature_columns: the feature columns; None = every column that is not the label,
        the id, the timestamp or ignored. Give this or ``ignored_columns``, not both.
    :param ignored_columns: columns never used as features.
    :param categorical_columns: feature columns one-hot encoded; None = every non-numeric one.
    :param segment_column: the column whose slices the promotion gate checks; None (the
        default) = no slices.
    :param default_rev: the revision trained on when a run names none.
    :param remote_aws_conn_id: Airflow AWS connection for an S3 DVC remote, or None.
    """

    name: str
    registry: str
    path: str
    label: str
    task: str | None = None
    id_column: str | None = None
    timestamp_column: str | None = None
    feature_columns: tuple[str, ...] | None = None
    ignored_columns: tuple[str, ...] = ()
    categorical_columns: tuple[str, ...] | None = None
    segment_column: str | None = None
    default_rev: str = "main"
    remote_aws_conn_id: str | None = None

    def __post_init__(self) -> None:
        _as_tuple(self, "feature_columns", "ignored_columns", "categorical_columns")
        problems = _Problems()
        self.collect_problems(problems, "DatasetSpec.")
        problems.raise_if_any("DatasetSpec")

    def collect_problems(self, problems: _Problems, prefix: str) -> None:
        """Add every problem of this spec to ``problems``, fields named ``<prefix><field>``."""
        column = rule(check_text, max_length=256, allow_none=True)
        rules: dict[str, Callable[[str, Any], Any]] = {
            "name": check_name,
            "registry": check_git_source,
            "path": check_relative_path,
            "label": rule(check_text, max_length=256),
            "task": rule(check_choice, (*TASKS, CLASSIFICATION), allow_none=True),
            "id_column": column,
            "timestamp_column": column,
            "feature_columns": rule(_columns, allow_none=True),
            "ignored_columns": _columns,
            "categorical_columns": rule(_columns, allow_none=True),
            "segment_column": column,
            "default_rev": check_rev,
            "remote_aws_conn_id": rule(check_name, allow_none=True),
        }
        for name, check in rules.items():
            problems.check(f"{prefix}{name}", check, getattr(self, name))
        roles = {"id_column": self.id_column, "timestamp_column": self.timestamp_column}
        for name, value in roles.items():
            problems.need(
                value is None or value != self.label,
                f"{prefix}{name}",
                value,
                f"must not be the label column {self.label!r}",
            )
        problems.need(
            self.id_column is None or self.id_column != self.timestamp_column,
            f"{prefix}timestamp_column",
            self.timestamp_column,
            "must not be the id column too",
        )
        problems.need(
            self.feature_columns is None or not self.ignored_columns,
            f"{prefix}ignored_columns",
            self.ignored_columns,
            "give feature_columns or ignored_columns, not both",
        )
        not_features = _names((self.label, self.id_column, self.timestamp_column))
        for name in ("feature_columns", "categorical_columns"):
            value = getattr(self, name)
            clash = sorted(_names(value) & not_features)
            problems.need(
                not clash,
                f"{prefix}{name}",
                value,
                f"must not list the label, id or timestamp column ({', '.join(clash)})",
            )
        if isinstance(self.feature_columns, tuple) and isinstance(self.categorical_columns, tuple):
            extra = sorted(_names(self.categorical_columns) - _names(self.feature_columns))
            problems.need(
                not extra,
                f"{prefix}categorical_columns",
                self.categorical_columns,
                f"lists columns that are not in feature_columns ({', '.join(extra)})",
            )

    @property
    def training_task(self) -> str:
        """The task as training takes it: ``auto`` when it is inferred from the label."""
        return self.task or "auto"

    def training_params(self) -> dict[str, Any]:
        """The :class:`~airflow_mlops.training.config.TrainingConfig` fields this spec sets."""
        excluded = [c for c in (self.timestamp_column, *self.ignored_columns) if c]
        params: dict[str, Any] = {"label": self.label, "task": self.training_task}
        if self.id_column:
            params["id_column"] = self.id_column
        if excluded:
            params["exclude_columns"] = excluded
        for name in ("feature_columns", "categorical_columns"):
            if getattr(self, name) is not None:
                params[name] = list(getattr(self, name))
        return params


@dataclass(frozen=True)
class ModelSpec:
    """The network to train, and where its code comes from.

    :param model_factory: ``"package.module:function"`` returning a ``torch.nn.Module`` (see
        :mod:`airflow_mlops.training.model`); None = the built-in MLP.
    :param model_kwargs: JSON-able keyword arguments merged into the factory's model config.
    :param package_path: a local directory with the user's package (pyproject.toml or
        setup.py), relative to the pipeline repository or absolute.
    :param wheel: a ``.whl`` file with the user's package.
    :param requirements: a requirements file to install (extra dependencies of the model).
    """

    model_factory: str | None = None
    model_kwargs: dict[str, Any] = field(default_factory=dict)
    package_path: str | None = None
    wheel: str | None = None
    requirements: str | None = None

    def __post_init__(self) -> None:
        problems = _Problems()
        self.collect_problems(problems, "ModelSpec.")
        problems.raise_if_any("ModelSpec")

    def collect_problems(self, problems: _Problems, prefix: str) -> None:
        """Add every problem of this spec to ``problems``, fields named ``<prefix><field>``."""
        problems.check(
            f"{prefix}model_factory",
            rule(
                check_pattern,
                FACTORY_PATTERN,
                "must be 'package.module:function' (None = the built-in MLP)",
                allow_none=True,
            ),
            self.model_factory,
        )
        problems.check(f"{prefix}model_kwargs", _check_json_mapping, self.model_kwargs)
        for name in ("package_path", "wheel", "requirements"):
            problems.check(
                f"{prefix}{name}", rule(check_path, allow_none=True), getattr(self, name)
            )
        problems.need(
            self.wheel is None or not isinstance(self.wheel, str) or self.wheel.endswith(".whl"),
            f"{prefix}wheel",
            self.wheel,
            "must be a .whl file",
        )
        problems.need(
            self.package_path is None or self.wheel is None,
            f"{prefix}wheel",
            self.wheel,
            "give package_path or wheel, not both",
        )
        problems.need(
            self.model_factory is not None or (self.package_path is None and self.wheel is None),
            f"{prefix}model_factory",
            self.model_factory,
            "must name the factory in the package_path or wheel given",
        )

    @property
    def code_source(self) -> str | None:
        """The user's code to install: the package path or the wheel, else None."""
        return self.package_path or self.wheel

    def training_params(self) -> dict[str, Any]:
        """The :class:`~airflow_mlops.training.config.TrainingConfig` fields this spec sets."""
        params: dict[str, Any] = (
            {"model_kwargs": dict(self.model_kwargs)} if self.model_kwargs else {}
        )
        if self.model_factory is not None:
            params["model_factory"] = self.model_factory
        return params


@dataclass(frozen=True)
class CTPipelineConfig:
    """Everything the DAG factory needs to build a level-1 CT DAG for one model.

    :param dag_id: the DAG id.
    :param model_name: the registered model name in MLflow.
    :param dataset: the training data.
    :param model: the network and its code (default: the built-in MLP).
    :param triggers: which of the five triggers start a run.
    :param training_defaults: defaults of the run params (epochs, learning_rate, ...).
    :param compute_budget: the largest model and the most training one run may ask for; a run
        beyond it is refused by its first task, and the training timeout follows from it.
    :param training_pool: the Airflow pool of the training task (e.g.
        :data:`~airflow_mlops.ct.priority.TRAINING_POOL`, created with ``airflow pools set``);
        None = Airflow's ``default_pool``. Automatic runs' training outranks manual runs' there.
    :param training_image: the training image; None reads the Airflow Variable that the
        level-2 DAG sets (``mlops_training_image``).
    :param backend: ``docker`` (default), ``local`` (a subprocess, for machines without
        Docker) or ``kubernetes`` (a pod through the cncf-kubernetes provider).
    :param kubernetes: the ``kubernetes`` backend's pod: namespace, GPU resource, node selector,
        tolerations, volume claims, requests and limits.
    :param gpu: ``auto``, ``required`` or ``none``.
    :param gate: keyword arguments of the promotion gate (metric, thresholds, ...); the metric
        must suit the dataset's task (see :data:`TASK_GATE_METRICS`).
    :param validation_suite: a GX suite JSON to validate against; None learns one from the
        reference version.
    :param validation_reference_rev: the data version the suite is learned from; None = the
        version the champion was trained on, or the first version without a champion (see
        :func:`resolve_reference_rev`).
    :param pipeline_repo: the git repository of this pipeline (DAG file and config), whose
        commit the lineage records; None = the repository holding the DAG file.
    :param mlflow_conn_id: the Airflow connection of the MLflow tracking server.
    :param retries: how often a failed task is retried.
    :param retry_delay_s: seconds between a task's failure and its retry.
    """

    dag_id: str
    model_name: str
    dataset: DatasetSpec
    model: ModelSpec = field(default_factory=ModelSpec)
    triggers: TriggerPolicy = field(default_factory=TriggerPolicy)
    training_defaults: dict[str, Any] = field(default_factory=dict)
    compute_budget: ComputeBudget = field(default_factory=ComputeBudget)
    training_pool: str | None = None
    training_image: str | None = None
    backend: str = "docker"
    kubernetes: KubernetesTraining = field(default_factory=KubernetesTraining)
    gpu: str = "auto"
    gate: dict[str, Any] = field(default_factory=dict)
    validation_suite: str | None = None
    validation_reference_rev: str | None = None
    pipeline_repo: str | None = None
    mlflow_conn_id: str = "mlflow_default"
    owner: str = "mlops"
    tags: tuple[str, ...] = ("mlops",)
    retries: int = 1
    retry_delay_s: int = 30
    max_active_runs: int = 1
    doc_md: str | None = None

    def __post_init__(self) -> None:
        _as_tuple(self, "tags")
        problems = _Problems()
        kinds = {
            "dataset": DatasetSpec,
            "model": ModelSpec,
            "triggers": TriggerPolicy,
            "compute_budget": ComputeBudget,
            "kubernetes": KubernetesTraining,
        }
        for name, kind in kinds.items():
            problems.need(
                isinstance(getattr(self, name), kind),
                name,
                getattr(self, name),
                f"must be a {kind.__name__}",
            )
        rules: dict[str, Callable[[str, Any], Any]] = {
            "dag_id": check_name,
            "model_name": check_name,
            "training_defaults": self._check_training_defaults,
            "training_image": rule(check_image, allow_none=True),
            "training_pool": rule(check_name, allow_none=True),
            "backend": rule(check_choice, BACKENDS),
            "gpu": rule(check_choice, GPU_MODES),
            "gate": self._check_gate,
            "validation_suite": rule(check_path, allow_none=True),
            "validation_reference_rev": rule(check_rev, allow_none=True),
            "pipeline_repo": rule(check_path, allow_none=True),
            "mlflow_conn_id": check_name,
            "owner": rule(check_text, max_length=256),
            "tags": check_tags,
            "retries": rule(check_int, 0, 10),
            "retry_delay_s": rule(check_int, 1, 86_400),
            "max_active_runs": rule(check_int, 1, 16),
            "doc_md": rule(check_markdown, allow_none=True),
        }
        for name, check in rules.items():
            problems.check(name, check, getattr(self, name))
        problems.raise_if_any("CTPipelineConfig")

    def _check_training_defaults(self, name: str, value: Any) -> None:
        check_mapping(name, value)
        known = {f.name for f in FIELDS}
        unknown = sorted(set(value) - known)
        if unknown:
            raise fail(name, unknown, f"known keys are {sorted(known)}")
        try:
            parse_run_params(value)
        except ConfigError as error:
            raise ConfigError(f"{name}: {error.message}", hint=error.hint) from error

    def _check_gate(self, name: str, value: Any) -> None:
        from airflow_mlops.model_registry.gate import GateConfig

        check_mapping(name, value)
        try:
            gate = GateConfig.from_dict(value)
        except ConfigError as error:
            raise ConfigError(f"{name}: {error.message}", hint=error.hint) from error
        task = getattr(self.dataset, "task", None)
        if gate.metric is not None and task in TASK_GATE_METRICS:
            allowed = TASK_GATE_METRICS[task]
            if gate.metric not in allowed:
                raise fail(f"{name}.metric", gate.metric, f"a {task} task gates on {allowed}")

    def param_defaults(self) -> dict[str, Any]:
        """The run params' defaults: the table's, overridden by this pipeline's."""
        defaults = {f.name: f.default for f in FIELDS}
        defaults["data_rev"] = self.dataset.default_rev
        return {**defaults, **self.training_defaults}

    def training_params(self) -> dict[str, Any]:
        """The fixed training params of this pipeline: dataset columns, task and model (the run
        params add the hyper-parameters)."""
        return {**self.dataset.training_params(), **self.model.training_params()}


def gate_metric(task: str, metric: str | None = None) -> tuple[str, str]:
    """The gate metric of ``task`` and its direction (``"higher"`` or ``"lower"`` is better).

    :param task: ``binary``, ``multiclass`` or ``regression``.
    :param metric: the configured metric; None = the task's default (accuracy, rmse).
    :raises ConfigError: an unknown task, or a metric that does not suit it.
    """
    from airflow_mlops.model_registry.gate import DIRECTION

    if task not in TASK_GATE_METRICS:
        raise fail("task", task, f"must be one of {', '.join(TASKS)}")
    allowed = TASK_GATE_METRICS[task]
    chosen = metric or allowed[0]
    if chosen not in allowed:
        raise fail("gate.metric", chosen, f"a {task} task gates on {', '.join(allowed)}")
    return chosen, "higher" if DIRECTION[chosen] > 0 else "lower"


def resolve_reference_rev(
    named: str | None,
    champion_tags: Mapping[str, str] | None,
    versions: Sequence[str],
) -> str:
    """The data version the validation suite is learned from.

    A named revision wins. Otherwise the version the current champion was trained on, read
    from its lineage tags (``mlops.data_commit``, else ``mlops.data_rev``); without a champion,
    the registry's first version (``versions`` oldest first, e.g. its tags in creation order).

    :param named: the configured ``validation_reference_rev``, or None.
    :param champion_tags: the champion version's tags, or None when there is no champion.
    :param versions: the data registry's versions, oldest first.
    :raises ConfigError: nothing to learn from (no champion lineage and no versions).
    """
    if named:
        return check_rev("validation_reference_rev", named)
    for tag in REFERENCE_TAGS:
        value = (champion_tags or {}).get(tag)
        if value:
            return check_rev(f"champion tag {tag}", value)
    if versions:
        return check_rev("first data version", versions[0])
    raise ConfigError(
        "No validation reference: no champion with lineage and no data version in the registry.",
        hint="Tag a first data version in the registry (git tag), or set "
        "validation_reference_rev (or validation_suite).",
    )


def _check_json_mapping(name: str, value: Any) -> dict[str, Any]:
    import json

    check_mapping(name, value)
    try:
        json.dumps(value, allow_nan=False)
    except (TypeError, ValueError) as error:
        raise fail(name, value, f"must be JSON-able ({error})") from error
    return dict(value)
