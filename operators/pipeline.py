"""The DAG factory: a config in, a DAG out, every task built by one function.

The pure plans (:mod:`airflow_mlops.ct.plan` for CT, data arrival and monitoring,
:func:`airflow_mlops.cicd.plan_cicd_pipeline` for level 2) name each task's operator class and
arguments; :func:`build_task` is the one place that turns such a spec into an operator, so the
shipped level 0/1/2, data-arrival and monitoring DAGs and a user's own pipeline are built the
same way, from one :class:`~airflow_mlops.ct.config.CTPipelineConfig`.
"""

from __future__ import annotations

import datetime as dt
import importlib
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from airflow.sdk import DAG, Asset, BaseOperator, Param

from airflow_mlops.ct.params import FIELDS
from airflow_mlops.ct.plan import (
    TaskSpec,
    model_dag_tag,
    plan_ct_pipeline,
    plan_data_arrival,
    plan_monitoring,
)
from airflow_mlops.errors import ConfigError

if TYPE_CHECKING:
    from airflow_mlops.cicd import CICDConfig
    from airflow_mlops.ct.config import CTPipelineConfig
    from airflow_mlops.ct.triggers import TriggerPolicy

#: the start date of the factory's DAGs unless told otherwise
START_DATE = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


def operator_class(spec: TaskSpec) -> type[BaseOperator]:
    """Import the operator class that ``spec`` names (only its own module is imported).

    :raises ConfigError: naming the task, when the path does not lead to an operator class.
    """
    module_name, _, class_name = spec.operator.rpartition(".")
    hint = (
        "Give the operator as a dotted class path such as "
        "'airflow_mlops.operators.data.DvcPullOperator', and install the package that holds it."
    )
    try:
        found = getattr(importlib.import_module(module_name), class_name)
    except (ImportError, AttributeError, ValueError) as error:
        raise ConfigError(
            f"Task {spec.task_id!r}: cannot import operator {spec.operator!r} ({error}).",
            hint=hint,
        ) from error
    if not (isinstance(found, type) and issubclass(found, BaseOperator)):
        raise ConfigError(
            f"Task {spec.task_id!r}: {spec.operator!r} is not an operator class.", hint=hint
        )
    return found


def build_task(spec: TaskSpec) -> BaseOperator:
    """The operator of ``spec``, in the DAG being defined: its class built with ``spec.args``,
    its outlets set."""
    operator = operator_class(spec)(task_id=spec.task_id, **spec.args)
    if spec.outlets:
        operator.outlets = [Asset(uri) for uri in spec.outlets]
    return operator


def build_tasks(plan: Iterable[TaskSpec]) -> dict[str, BaseOperator]:
    """Build every task of ``plan`` (in dependency order) and wire it to its upstream tasks."""
    operators: dict[str, BaseOperator] = {}
    for spec in plan:
        operator = build_task(spec)
        for upstream in spec.upstream:
            operators[upstream] >> operator
        operators[spec.task_id] = operator
    return operators


def ct_schedule(policy: TriggerPolicy, config: CTPipelineConfig) -> Any:
    """The DAG schedule for ``policy``: cron, asset events, both (AssetOrTimeSchedule) or None."""
    from airflow.timetables.trigger import CronTriggerTimetable

    assets = [Asset(uri) for uri in policy.assets(config.dataset.name, config.model_name)]
    timetable = None
    if policy.cron:  # with no start date, the first scheduled run is the next tick (no catch-up)
        timetable = CronTriggerTimetable(
            policy.cron, timezone="UTC", run_immediately=dt.timedelta(0)
        )
    if not assets:
        return timetable
    condition = assets[0]
    for asset in assets[1:]:
        condition = condition | asset
    if timetable is None:
        return condition
    from airflow.sdk import AssetOrTimeSchedule

    return AssetOrTimeSchedule(timetable=timetable, assets=condition)


def _dag(
    config: CTPipelineConfig | CICDConfig,
    schedule: Any,
    start_date: dt.datetime | None,
    tags: Sequence[str],
    *,
    dag_id: str | None = None,
    doc_md: str | None = None,
    **kwargs: Any,
) -> DAG:
    """A DAG with the settings the factories share: owner, retries, docs, native templates
    (XCom dicts pass through templates as dicts); ``dag_id`` and ``doc_md`` default to the
    config's."""
    return DAG(
        dag_id=dag_id or config.dag_id,
        schedule=schedule,
        start_date=start_date,
        catchup=False,
        tags=list(tags),
        doc_md=doc_md or config.doc_md,
        render_template_as_native_obj=True,
        default_args={
            "owner": config.owner,
            "retries": config.retries,
            "retry_delay": dt.timedelta(seconds=config.retry_delay_s),
        },
        **kwargs,
    )


def build_ct_dag(
    config: CTPipelineConfig,
    *,
    start_date: dt.datetime | None = None,
    extra_tags: Sequence[str] = (),
) -> DAG:
    """Build the CT DAG of ``config``: its schedule from the trigger policy, its trigger form
    from the run-param table, one operator per planned task.

    :param start_date: None (the default) = unpausing the DAG starts no training for a tick
        that has passed: its first scheduled run is the next tick of the cron. With a date,
        Airflow's ``catchup=False`` rule runs the latest past tick on unpause.
    """
    defaults = config.param_defaults()
    params = {f.name: Param(defaults[f.name], **f.schema()) for f in FIELDS}
    model_tag = model_dag_tag(config.model_name)
    with _dag(
        config,
        ct_schedule(config.triggers, config),
        start_date,
        [*config.tags, *extra_tags, *([model_tag] if model_tag else [])],
        max_active_runs=config.max_active_runs,
        params=params,
    ) as dag:
        build_tasks(plan_ct_pipeline(config))
    return dag


def build_data_arrival_dag(
    config: CTPipelineConfig,
    *,
    dag_id: str | None = None,
    schedule: str = "*/30 * * * *",
    refs: str | None = None,
    doc_md: str | None = None,
    start_date: dt.datetime = START_DATE,
    extra_tags: Sequence[str] = (),
) -> DAG:
    """Build the data-arrival DAG of ``config``: a deferrable sensor announces each new version
    of the dataset on ``x-mlops://data/<dataset name>``, the asset the CT DAG is scheduled on.

    :param dag_id: default ``<config.dag_id>_data_arrival``.
    :param schedule: how often a run starts watching (each waits up to 25 minutes).
    :param refs: the refs watched; None = the branch of the dataset's ``default_rev``.
    :param doc_md: the DAG's docs; default the config's.
    """
    with _dag(
        config,
        schedule,
        start_date,
        [*config.tags, "data", *extra_tags],
        dag_id=dag_id or f"{config.dag_id}_data_arrival",
        doc_md=doc_md,
        max_active_runs=1,
    ) as dag:
        build_tasks(plan_data_arrival(config, refs=refs))
    return dag


def build_monitoring_dag(
    config: CTPipelineConfig,
    *,
    dag_id: str | None = None,
    schedule: str = "0 6 * * *",
    input_path: str | None = None,
    drift: Mapping[str, Any] | None = None,
    labels_path: str | None = None,
    doc_md: str | None = None,
    start_date: dt.datetime = START_DATE,
    extra_tags: Sequence[str] = (),
) -> DAG:
    """Build the monitoring DAG of ``config``: score the batch with the champion, then check
    drift and performance; a verdict that asks for retraining starts the CT DAG.

    :param dag_id: default ``<config.dag_id>_monitoring``.
    :param schedule: when the day's batch is scored.
    :param input_path: the default of the ``input_path`` param (the batch to score); None =
        ``$AIRFLOW_MLOPS_HOME/incoming/batch.csv``.
    :param drift: :class:`~airflow_mlops.monitoring.drift_types.DriftConfig` fields.
    :param labels_path: labels that arrived after scoring, joined on ``prediction_id``
        (templated, e.g. ``/labels/{{ ds }}.csv``); None: performance is only estimated.
    :param doc_md: the DAG's docs; default the config's.
    """
    if input_path is None:
        from airflow_mlops.settings import MlopsHome

        input_path = str(MlopsHome.from_env().root / "incoming" / "batch.csv")
    params = {
        "input_path": Param(
            input_path,
            type="string",
            description="The batch to score: a CSV or Parquet file of raw feature rows.",
        )
    }
    with _dag(
        config,
        schedule,
        start_date,
        [*config.tags, "monitoring", *extra_tags],
        dag_id=dag_id or f"{config.dag_id}_monitoring",
        doc_md=doc_md,
        max_active_runs=1,
        params=params,
    ) as dag:
        build_tasks(plan_monitoring(config, drift=drift, labels_path=labels_path))
    return dag


def build_cicd_dag(
    config: CICDConfig,
    *,
    start_date: dt.datetime = START_DATE,
    extra_tags: Sequence[str] = (),
) -> DAG:
    """Build the level-2 DAG of ``config``: build, test, publish and deploy the training image,
    then run CT with it. Runs on demand (a pipeline change), one at a time."""
    from airflow_mlops.cicd import plan_cicd_pipeline

    with _dag(config, None, start_date, [*config.tags, *extra_tags], max_active_runs=1) as dag:
        build_tasks(plan_cicd_pipeline(config))
    return dag
