"""Which CT runs train first when training slots are short: automatic runs before manual ones.

Training tasks can share an Airflow pool (``CTPipelineConfig.training_pool``, e.g.
:data:`TRAINING_POOL`) across pipelines; when its slots are taken, the scheduler starts the
waiting task with the highest priority weight first. A run's weight comes from its trigger,
which Airflow writes into the run id it generates (``scheduled__...``,
``asset_triggered__...``): the nightly schedule and the new-data, drift and performance events
outrank a person's run, so a slow manual run cannot hold them back beyond its own budget.
"""

from __future__ import annotations

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
