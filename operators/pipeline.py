"""The DAG factory: a :class:`~airflow_mlops.ct.config.CTPipelineConfig` in, a CT DAG out.

:func:`build_ct_dag` takes the pure plan of :mod:`airflow_mlops.ct.plan` and instantiates one
operator per task in one place, so the shipped level 0/1 DAGs and a user's own pipeline are built
the same way.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from airflow.sdk import DAG, Asset, BaseOperator, Param, Variable
from airflow.sdk.exceptions import AirflowFailException

from airflow_mlops.assets import data_asset_uri, drift_asset_uri
from airflow_mlops.ct.config import CTPipelineConfig
from airflow_mlops.ct.params import FIELDS, parse_run_params
from airflow_mlops.ct.plan import TaskSpec, plan_ct_pipeline
from airflow_mlops.ct.triggers import TriggerPolicy, classify_trigger
from airflow_mlops.errors import ConfigError
from airflow_mlops.inputs import check_image, check_rev
from airflow_mlops.variables import DEFAULT_TRAINING_IMAGE, TRAINING_IMAGE_VARIABLE

if TYPE_CHECKING:
    from airflow.sdk import Context


class PrepareCTRunOperator(BaseOperator):
    """First task of a CT run: validate the run params and record which trigger started it.

    Returns ``{"trigger", "data_rev", "training", "promote", "image", "events"}``: ``training``
    holds the training config fields and ``image`` the training image reference (the Variable
    set by the level-2 DAG, or ``local:<version>`` for the local backend); both enter the CT
    fingerprint.

    :param config: the pipeline's config.
    """

    ui_color = "#e8f0fe"

    def __init__(self, *, config: CTPipelineConfig, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.config = config

    def execute(self, context: Context) -> dict[str, Any]:
        run = context["dag_run"]
        extras = [
            event.extra
            for events in context.get("triggering_asset_events", {}).values()
            for event in events
        ]
        supplied = {
            f.name: context["params"][f.name] for f in FIELDS if f.name in context["params"]
        }
        try:
            # the conf's own keys too: a misspelt parameter is refused, not silently ignored
            params = parse_run_params({**(run.conf or {}), **supplied})
            trigger = classify_trigger(run.run_type, run.conf, extras, self.config.triggers)
            # an asset event's revision comes from outside the form: same rule as data_rev
            data_rev = check_rev("data_rev", trigger.data_rev or params.data_rev)
            image = self.training_image()
        except ConfigError as error:
            raise AirflowFailException(f"Run refused before any work: {error}") from error
        self.log.info(
            "Run started by %s; training on data revision %s with image %s",
            trigger.reason,
            data_rev,
            image,
        )
        dataset = self.config.dataset
        return {
            "trigger": trigger.reason,
            "events": trigger.events,
            "data_rev": data_rev,
            "promote": params.promote,
            "image": image,
            "training": {
                "label": dataset.label,
                "task": dataset.task,
                **params.training_params(),
            },
        }

    def training_image(self) -> str:
        """The image training will use: config, else the level-2 Variable, else the default."""
        if self.config.backend == "local":
            from airflow_mlops import __version__

            return f"local:airflow-mlops-{__version__}"
        if self.config.training_image:
            return self.config.training_image
        # anyone who may edit Variables sets this one: check it like a configured image
        return check_image(
            f"Variable {TRAINING_IMAGE_VARIABLE}",
            Variable.get(TRAINING_IMAGE_VARIABLE, default=DEFAULT_TRAINING_IMAGE),
        )


def ct_schedule(policy: TriggerPolicy, config: CTPipelineConfig) -> Any:
    """The DAG schedule for ``policy``: cron, asset events, both (AssetOrTimeSchedule) or None."""
    from airflow.timetables.trigger import CronTriggerTimetable

    assets = []
    if policy.on_new_data:
        assets.append(Asset(data_asset_uri(config.dataset.name)))
    if policy.watches_drift_asset:
        assets.append(Asset(drift_asset_uri(config.model_name)))
    timetable = CronTriggerTimetable(policy.cron, timezone="UTC") if policy.cron else None
    if not assets:
        return timetable
    condition = assets[0]
    for asset in assets[1:]:
        condition = condition | asset
    if timetable is None:
        return condition
    from airflow.sdk import AssetOrTimeSchedule

    return AssetOrTimeSchedule(timetable=timetable, assets=condition)


def _prepare(spec: TaskSpec) -> BaseOperator:
    return PrepareCTRunOperator(task_id=spec.task_id, config=spec.args["config"])


def _pull(spec: TaskSpec) -> BaseOperator:
    from airflow_mlops.operators.data import DvcPullOperator

    return DvcPullOperator(task_id=spec.task_id, **spec.args)


def _validate(spec: TaskSpec) -> BaseOperator:
    from airflow_mlops.operators.validation import ValidateDataOperator

    return ValidateDataOperator(task_id=spec.task_id, **spec.args)


def _train(spec: TaskSpec) -> BaseOperator:
    from airflow_mlops.operators.training import TrainInDockerOperator

    return TrainInDockerOperator(task_id=spec.task_id, **spec.args)


def _export(spec: TaskSpec) -> BaseOperator:
    from airflow_mlops.operators.export import ExportOnnxOperator

    return ExportOnnxOperator(task_id=spec.task_id, **spec.args)


def _fingerprint(spec: TaskSpec) -> BaseOperator:
    from airflow_mlops.operators.model_registry import SkipIfTrainedOperator

    return SkipIfTrainedOperator(task_id=spec.task_id, **spec.args)


def _register(spec: TaskSpec) -> BaseOperator:
    from airflow_mlops.operators.model_registry import RegisterModelOperator

    return RegisterModelOperator(task_id=spec.task_id, **spec.args)


def _promote(spec: TaskSpec) -> BaseOperator:
    from airflow_mlops.operators.model_registry import EvaluateAndPromoteOperator

    return EvaluateAndPromoteOperator(task_id=spec.task_id, **spec.args)


BUILDERS: dict[str, Callable[[TaskSpec], BaseOperator]] = {
    "prepare": _prepare,
    "pull": _pull,
    "validate": _validate,
    "fingerprint": _fingerprint,
    "train": _train,
    "export": _export,
    "register": _register,
    "promote": _promote,
}


def build_ct_dag(
    config: CTPipelineConfig,
    *,
    start_date: dt.datetime = dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
    extra_tags: Sequence[str] = (),
) -> DAG:
    """Build the CT DAG of ``config``: its schedule from the trigger policy, its trigger form
    from the run-param table, one operator per planned task."""
    defaults = config.param_defaults()
    params = {f.name: Param(defaults[f.name], **f.schema()) for f in FIELDS}
    dag = DAG(
        dag_id=config.dag_id,
        schedule=ct_schedule(config.triggers, config),
        start_date=start_date,
        catchup=False,
        max_active_runs=config.max_active_runs,
        params=params,
        tags=[*config.tags, *extra_tags],
        doc_md=config.doc_md,
        render_template_as_native_obj=True,
        default_args={
            "owner": config.owner,
            "retries": config.retries,
            "retry_delay": dt.timedelta(seconds=config.retry_delay_s),
        },
    )
    with dag:
        operators: dict[str, BaseOperator] = {}
        for spec in plan_ct_pipeline(config):
            operator = BUILDERS[spec.kind](spec)
            if spec.outlets:
                operator.outlets = [Asset(uri) for uri in spec.outlets]
            for upstream in spec.upstream:
                operators[upstream] >> operator
            operators[spec.task_id] = operator
    return dag
