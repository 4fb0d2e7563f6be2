"""Plan a CT pipeline as plain task descriptions; the DAG factory turns them into operators.

From one :class:`~airflow_mlops.ct.config.CTPipelineConfig` come three plans: the CT run
(:func:`plan_ct_pipeline`), the data-arrival sensor (:func:`plan_data_arrival`) and the
monitoring run (:func:`plan_monitoring`).

The plan is pure data (no Airflow import), so it can be tested and inspected alone: task ids,
the operator class of each (a dotted path, imported only when the DAG is built), their upstream
tasks, and the arguments each operator receives, with the Jinja templates that pass references
(never data) from one task's XCom to the next.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from airflow_mlops.assets import model_asset_uri
from airflow_mlops.ct.config import TASK_GATE_METRICS, CTPipelineConfig, gate_metric
from airflow_mlops.ct.priority import TRAINING_WEIGHT_RULE

#: the package of the shipped operators, as the plans name them
OPERATORS = "airflow_mlops.operators"
PREPARE_OPERATOR = f"{OPERATORS}.ct.PrepareCTRunOperator"
PULL_OPERATOR = f"{OPERATORS}.data.DvcPullOperator"
PULL_REFERENCE_OPERATOR = f"{OPERATORS}.ct.PullReferenceOperator"
VALIDATE_OPERATOR = f"{OPERATORS}.validation.ValidateDataOperator"
FINGERPRINT_OPERATOR = f"{OPERATORS}.model_registry.SkipIfTrainedOperator"
TRAIN_OPERATOR = f"{OPERATORS}.training.TrainInDockerOperator"
KUBERNETES_TRAIN_OPERATOR = f"{OPERATORS}.kubernetes.TrainOnKubernetesOperator"
EXPORT_OPERATOR = f"{OPERATORS}.export.ExportOnnxOperator"
REGISTER_OPERATOR = f"{OPERATORS}.model_registry.RegisterModelOperator"
PROMOTE_OPERATOR = f"{OPERATORS}.model_registry.EvaluateAndPromoteOperator"
SENSOR_OPERATOR = "airflow_mlops.sensors.data.DvcDataVersionSensor"
SCORE_OPERATOR = f"{OPERATORS}.scoring.BatchPredictOperator"
DRIFT_OPERATOR = f"{OPERATORS}.monitoring.DriftMonitorOperator"

PREPARE = "prepare_run"
PULL = "pull_data"
PULL_REFERENCE = "pull_reference"
VALIDATE = "validate_data"
FINGERPRINT = "check_fingerprint"
TRAIN = "train"
EXPORT = "export_onnx"
REGISTER = "register_model"
PROMOTE = "evaluate_and_promote"
WAIT = "wait_for_new_version"
SCORE = "score_batch"
DRIFT = "check_drift"
#: Airflow's longest DAG tag (``airflow.models.dag.TAG_MAX_LEN``)
DAG_TAG_MAX_LEN = 100


def model_dag_tag(model_name: str) -> str | None:
    """The DAG tag that marks a CT DAG of ``model_name`` (the MLOps page's run timeline finds
    the DAGs by it); None for a name too long for a tag."""
    tag = f"model:{model_name}"
    return tag if len(tag) <= DAG_TAG_MAX_LEN else None


#: the monitoring run's batch, a DAG param (the factory gives it a default)
INPUT_PATH = "{{ params.input_path }}"
#: the version the gate judges: the one just registered, else the one the run resumes from
CHALLENGER_VERSION = (
    f"{{{{ (ti.xcom_pull(task_ids={REGISTER!r}) or ti.xcom_pull(task_ids={FINGERPRINT!r}))"
    "['version'] }}"
)
#: the day the batch was scored (the run's start), not the schedule's logical date
RUN_DAY = "{{ dag_run.start_date.strftime('%Y-%m-%d') }}"


def xcom(task_id: str, *path: str | int) -> str:
    """A template that reads ``path`` inside the return value of ``task_id``."""
    lookup = "".join(f"[{key!r}]" for key in path)
    return f"{{{{ ti.xcom_pull(task_ids={task_id!r}){lookup} }}}}"


@dataclass(frozen=True)
class TaskSpec:
    """One task of the plan: which operator, what it gets, what must run before it.

    :param task_id: the task id.
    :param operator: the operator's dotted class path, e.g.
        ``"airflow_mlops.operators.data.DvcPullOperator"``.
    :param upstream: the task ids that run before it.
    :param args: the operator's keyword arguments besides ``task_id``.
    :param outlets: asset URIs the task emits when it succeeds.
    """

    task_id: str
    operator: str
    upstream: tuple[str, ...] = ()
    args: dict[str, Any] = field(default_factory=dict)
    outlets: tuple[str, ...] = ()


def gate_args(config: CTPipelineConfig) -> dict[str, Any]:
    """The promotion gate's arguments: the config's, with the task's default metric when the
    task is known and the config names none (an inferred task gets its default at run time)."""
    gate = dict(config.gate)
    task = config.dataset.task
    if task in TASK_GATE_METRICS:
        gate["metric"] = gate_metric(task, gate.get("metric"))[0]
    return gate


def train_environment(config: CTPipelineConfig) -> dict[str, Any]:
    """The local backend imports the user's package (``model.package_path``) without an
    install: its training process gets it on ``PYTHONPATH``. An image has it installed."""
    if config.backend != "local" or not config.model.package_path:
        return {}
    return {"environment": {"PYTHONPATH": xcom(PREPARE, "python_path")}}


def train_operator(config: CTPipelineConfig) -> tuple[str, dict[str, Any]]:
    """The training operator for ``config.backend`` and its backend-specific arguments: a
    KubernetesPodOperator with the config's pod settings, else the Docker operator (which also
    runs the local backend)."""
    if config.backend == "kubernetes":
        return KUBERNETES_TRAIN_OPERATOR, {"kubernetes": config.kubernetes}
    return TRAIN_OPERATOR, {}


def plan_ct_pipeline(config: CTPipelineConfig) -> list[TaskSpec]:
    """The tasks of one CT run, in dependency order."""
    data = config.dataset
    dataset_file = xcom(PULL, "targets", 0, "local_path")
    pull_args = {
        "registry": data.registry,
        "targets": [data.path],
        "aws_conn_id": data.remote_aws_conn_id,
    }
    validate_args: dict[str, Any] = {"dataset": dataset_file, "label_column": data.label}
    tasks = [TaskSpec(PREPARE, PREPARE_OPERATOR, args={"config": config})]
    # The fingerprint check comes right after the pull: data already trained on with the same
    # image and params passed validation then, so an unchanged rerun skips everything else.
    tasks.append(
        TaskSpec(PULL, PULL_OPERATOR, (PREPARE,), {**pull_args, "rev": xcom(PREPARE, "data_rev")})
    )
    tasks.append(
        TaskSpec(
            FINGERPRINT,
            FINGERPRINT_OPERATOR,
            (PULL,),
            {
                "model_name": config.model_name,
                "data_md5": xcom(PULL, "md5"),
                "training_params": xcom(PREPARE, "training"),
                "image_digest": xcom(PREPARE, "code", "image_digest"),
                "model_code": xcom(PREPARE, "code", "model_code"),
                "git_sha": xcom(PREPARE, "code", "git_sha"),
                # a version whose gate never finished is evaluated again, not trained again
                "resume_task_ids": [PROMOTE],
                "mlflow_conn_id": config.mlflow_conn_id,
            },
        )
    )
    if config.validation_suite:
        validate_args["suite"] = config.validation_suite
        validate_upstream: tuple[str, ...] = (FINGERPRINT,)
    else:
        # the reference is chosen when the run starts: the champion's data may have changed
        reference_args = {
            **pull_args,
            "model_name": config.model_name,
            "reference_rev": config.validation_reference_rev,
            "mlflow_conn_id": config.mlflow_conn_id,
        }
        tasks.append(
            TaskSpec(PULL_REFERENCE, PULL_REFERENCE_OPERATOR, (FINGERPRINT,), reference_args)
        )
        validate_args["reference"] = xcom(PULL_REFERENCE, "targets", 0, "local_path")
        validate_upstream = (PULL_REFERENCE,)
    lineage = {
        # the DVC path: monitoring pulls the champion's training data back by it
        "dataset": data.path,
        "data_rev": xcom(PULL, "rev"),
        "data_commit": xcom(PULL, "commit"),
        "data_md5": xcom(PULL, "md5"),
        "validation_outcome": xcom(VALIDATE, "outcome"),
        "trigger": xcom(PREPARE, "trigger"),
        "params": xcom(PREPARE, "training"),
        "model_code": xcom(PREPARE, "code", "model_code"),
        "git_sha": xcom(PREPARE, "code", "git_sha"),
    }
    train_class, train_args = train_operator(config)
    tasks += [
        TaskSpec(VALIDATE, VALIDATE_OPERATOR, validate_upstream, validate_args),
        TaskSpec(
            TRAIN,
            train_class,
            (VALIDATE,),
            {
                **train_args,
                "data_path": dataset_file,
                "training_params": xcom(PREPARE, "training"),
                # docker and kubernetes run an image; the local backend runs in the worker
                "image": xcom(PREPARE, "image") if config.backend != "local" else None,
                "backend": config.backend,
                "gpu": config.gpu,
                **train_environment(config),
                # the longest run the compute budget lets through (prepare refuses the rest)
                "train_timeout": config.compute_budget.timeout_s(),
                # automatic runs' training before manual runs' when the pool is short
                "weight_rule": TRAINING_WEIGHT_RULE,
                **({"pool": config.training_pool} if config.training_pool else {}),
            },
        ),
        TaskSpec(
            EXPORT,
            EXPORT_OPERATOR,
            (TRAIN,),
            {
                "checkpoint_uri": xcom(TRAIN, "checkpoint_uri"),
                "sample_uri": dataset_file,
                "model_factory": config.model.model_factory,
            },
        ),
        TaskSpec(
            REGISTER,
            REGISTER_OPERATOR,
            (EXPORT,),
            {
                "model_name": config.model_name,
                "onnx_uri": xcom(EXPORT, "onnx_uri"),
                "training_result": xcom(TRAIN),
                "export_result": xcom(EXPORT),
                "lineage": lineage,
                "fingerprint": xcom(FINGERPRINT, "fingerprint"),
                "image_digest": xcom(PREPARE, "code", "image_digest"),
                "example_uri": dataset_file,
                "mlflow_conn_id": config.mlflow_conn_id,
            },
        ),
        TaskSpec(
            PROMOTE,
            PROMOTE_OPERATOR,
            # after the registration, or right after the fingerprint check when the run resumes
            # from a registered version whose gate never finished (training is skipped then)
            (REGISTER, FINGERPRINT),
            {
                "model_name": config.model_name,
                "challenger_version": CHALLENGER_VERSION,
                "trigger_rule": "none_failed_min_one_success",
                "holdout_uri": dataset_file,
                "segment_column": data.segment_column,
                "promote": xcom(PREPARE, "promote"),
                "gate": gate_args(config),
                "mlflow_conn_id": config.mlflow_conn_id,
            },
            outlets=(model_asset_uri(config.model_name),),
        ),
    ]
    return tasks


def plan_data_arrival(
    config: CTPipelineConfig,
    *,
    refs: str | None = None,
    poke_interval_s: float = 30,
    timeout_s: float = 25 * 60,
) -> list[TaskSpec]:
    """The data-arrival run: one deferrable sensor that emits an event on the dataset's asset
    (``x-mlops://data/<dataset name>``, which the CT DAG is scheduled on) for each new version.

    :param refs: the refs watched; None = the branch the dataset's ``default_rev`` names.
    :param poke_interval_s: seconds between two looks at the registry.
    :param timeout_s: how long one run waits for a new version.
    """
    data = config.dataset
    args = {
        "registry": data.registry,
        "target": data.path,
        "refs": refs or f"refs/heads/{data.default_rev}",
        "dataset": data.name,
        "poke_interval": poke_interval_s,
        "timeout": timeout_s,
    }
    return [TaskSpec(WAIT, SENSOR_OPERATOR, args=args)]


def plan_monitoring(
    config: CTPipelineConfig,
    *,
    drift: Mapping[str, Any] | None = None,
    max_performance_drop: float = 0.05,
    labels_path: str | None = None,
) -> list[TaskSpec]:
    """The monitoring run: score the batch (DAG param ``input_path``) with the champion, then
    compare that day's inference log with the champion's training data; drift or a
    performance drop emits the event that starts the CT DAG.

    :param drift: :class:`~airflow_mlops.monitoring.drift_types.DriftConfig` fields.
    :param max_performance_drop: the largest drop of the labelled metric that is no alarm.
    :param labels_path: labels that arrived later (``prediction_id`` and the label; may be
        templated), joined to the log on the ids scoring logged (the dataset's ``id_column``).
    """
    common = {"model_name": config.model_name, "mlflow_conn_id": config.mlflow_conn_id}
    drift_args = {
        **common,
        "window_start": RUN_DAY,
        "window_end": RUN_DAY,
        "data_registry": config.dataset.registry,
        "drift": dict(drift) if drift is not None else None,
        "label_column": config.dataset.label,
        "max_performance_drop": max_performance_drop,
        "labels_path": labels_path,
    }
    score_args = {**common, "input_path": INPUT_PATH, "id_column": config.dataset.id_column}
    return [
        TaskSpec(SCORE, SCORE_OPERATOR, args=score_args),
        TaskSpec(DRIFT, DRIFT_OPERATOR, (SCORE,), drift_args),
    ]
