"""The training tasks' priority weight strategy, as Airflow's scheduler applies it: a new-data
(or scheduled) run's training task outranks a slow manual run's in the pool they share."""

from __future__ import annotations

import dataclasses

from airflow_mlops.ct.priority import AUTOMATIC_WEIGHT, MANUAL_WEIGHT, TRAINING_POOL


def test_training_is_pooled_and_weighted_by_trigger_after_serialization() -> None:
    from airflow.models.taskinstance import TaskInstance
    from airflow.serialization.serialized_objects import DagSerialization

    from airflow_mlops.ct.plan import TRAIN
    from airflow_mlops.ct.triggers import TriggerPolicy
    from airflow_mlops.local.demo.pipeline import demo_pipeline
    from airflow_mlops.operators.pipeline import build_ct_dag

    config = dataclasses.replace(
        demo_pipeline("priority_ct", TriggerPolicy(), "m"), training_pool=TRAINING_POOL
    )
    # what the scheduler holds: the DAG as the DAG processor serialized it
    dag = DagSerialization.from_dict(DagSerialization.to_dict(build_ct_dag(config)))
    train = dag.get_task(TRAIN)
    assert train.pool == TRAINING_POOL

    def weight(run_id: str) -> int:
        """The weight the scheduler stores when it creates the task instance of a run."""
        return TaskInstance.insert_mapping(run_id, train, -1, dag_version_id=None, dag_run=_Run())[
            "priority_weight"
        ]

    manual = weight("manual__2026-01-01T10:00:00+00:00")
    new_data = weight("asset_triggered__2026-01-01T10:05:00+00:00")
    assert (manual, new_data) == (MANUAL_WEIGHT, AUTOMATIC_WEIGHT)
    # the other tasks keep Airflow's default rule
    assert dag.get_task("prepare_run").pool != TRAINING_POOL


class _Run:
    context_carrier = None
