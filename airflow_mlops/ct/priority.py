"""Which CT runs train first when training slots are short: automatic runs before manual ones.

Training tasks can share an Airflow pool (``CTPipelineConfig.training_pool``, e.g.
:data:`TRAINING_POOL`) across pipelines; when its slots are taken, the scheduler starts the
waiting task with the highest priority weight first. A run's weight comes from its trigger,
which Airflow writes into the run id it generates (``scheduled__...``,
``asset_triggered__...``): the nightly schedule and the new-data, drift and performance events
outrank a person's run, so a slow manual run cannot hold them back beyond its own budget.

Airflow's API accepts a caller's own run id, which could claim such a prefix: the strategy only
sees the run id, so the first task of every CT run checks it against the run's real type
(:func:`check_run_id`) and refuses a run whose id claims a trigger it did not have, before its
training task can run with the weight it claimed.
"""

from __future__ import annotations

from airflow_mlops.errors import ConfigError

#: the pool name the docs suggest for training tasks (``airflow pools set mlops_training 2 ...``)
TRAINING_POOL = "mlops_training"
#: the training tasks' ``weight_rule``: the plugin registers this strategy with Airflow
TRAINING_WEIGHT_RULE = "airflow_mlops.plugins.priority.TriggerPriority"
#: the priority weight of a training task started by the schedule or an asset event
AUTOMATIC_WEIGHT = 100
#: the priority weight of any other training task: a person's run (UI, CLI, REST API)
MANUAL_WEIGHT = 1
#: the run-id prefixes Airflow generates for runs nobody started by hand
AUTOMATIC_RUN_TYPES = frozenset({"scheduled", "asset_triggered", "asset_materialization"})


def trigger_weight(run_id: str) -> int:
    """The priority weight of a training task of run ``run_id``: :data:`AUTOMATIC_WEIGHT` for a
    run the schedule or an asset event started, else :data:`MANUAL_WEIGHT` (a run id given by
    a caller counts as manual)."""
    run_type, separator, _ = run_id.partition("__")
    return AUTOMATIC_WEIGHT if separator and run_type in AUTOMATIC_RUN_TYPES else MANUAL_WEIGHT


def check_run_id(run_id: str, run_type: object) -> None:
    """Refuse a run whose id claims an automatic trigger (``scheduled__...``) that its
    ``run_type`` (the DAG run's own record) is not.

    :raises ConfigError: naming the run id, what it claims and what the run is.
    """
    claimed, separator, _ = run_id.partition("__")
    actual = str(getattr(run_type, "value", run_type))
    if separator and claimed in AUTOMATIC_RUN_TYPES and claimed != actual:
        raise ConfigError(
            f"run_id={run_id!r} claims a {claimed!r} run, but this run was started as "
            f"{actual!r}: that prefix would give its training the priority of an automatic "
            "run.",
            hint="Trigger it again with a run id that does not start with "
            + ", ".join(f"'{t}__'" for t in sorted(AUTOMATIC_RUN_TYPES))
            + " (or let Airflow generate the run id).",
        )
