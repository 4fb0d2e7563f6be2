"""The training tasks' priority weight strategy, as Airflow's scheduler applies it: a new-data
(or scheduled) run's training task outranks a slow manual run's in the pool they share."""

from __future__ import annotations

import dataclasses
import textwrap
from pathlib import Path

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


def test_the_scheduler_queues_a_new_data_runs_training_before_a_manual_runs(
    airflow_db, tmp_path: Path
) -> None:
    """Scheduler-level, without a running scheduler: two pipelines share a one-slot training
    pool; a slow manual run's train task and a later new-data run's are both ready. Airflow's
    own selection (``_executable_task_instances_to_queued``) queues the new-data one."""
    from datetime import UTC, datetime, timedelta

    from airflow.dag_processing.bundles.manager import DagBundlesManager
    from airflow.dag_processing.dagbag import BundleDagBag, sync_bag_to_db
    from airflow.jobs.job import Job
    from airflow.jobs.scheduler_job_runner import SchedulerJobRunner
    from airflow.models.dag import DagModel
    from airflow.models.pool import Pool
    from airflow.models.serialized_dag import SerializedDagModel
    from airflow.utils.session import create_session
    from airflow.utils.state import DagRunState, TaskInstanceState
    from airflow.utils.types import DagRunTriggeredByType, DagRunType

    folder = tmp_path / "dags"
    folder.mkdir()
    for name in ("pool_manual_ct", "pool_new_data_ct"):
        (folder / f"{name}.py").write_text(
            textwrap.dedent(f'''
            import dataclasses
            from airflow_mlops.ct.triggers import TriggerPolicy
            from airflow_mlops.local.demo.pipeline import demo_pipeline
            from airflow_mlops.operators.pipeline import build_ct_dag
            dag = build_ct_dag(dataclasses.replace(
                demo_pipeline("{name}", TriggerPolicy(), "{name}_model"),
                backend="local", training_pool="{TRAINING_POOL}"))
        ''')
        )
    with create_session() as session:
        DagBundlesManager().sync_bundles_to_db(session=session)
    bag = BundleDagBag(dag_folder=folder, bundle_path=folder, bundle_name="dags-folder")
    assert not bag.import_errors, bag.import_errors
    sync_bag_to_db(bag, "dags-folder", None)
    now = datetime.now(UTC)
    with create_session() as session:
        Pool.create_or_update_pool(
            TRAINING_POOL, slots=1, description="t", include_deferred=False, session=session
        )
        runs = {}
        for name, run_type, offset in (
            ("pool_manual_ct", DagRunType.MANUAL, 0),
            ("pool_new_data_ct", DagRunType.ASSET_TRIGGERED, 5),
        ):
            session.get(DagModel, name).is_paused = False
            dag = SerializedDagModel.get_dag(name, session=session)
            run_id = f"{run_type.value}__{(now + timedelta(minutes=offset)).isoformat()}"
            run = dag.create_dagrun(
                run_id=run_id,
                run_after=now,
                run_type=run_type,
                triggered_by=DagRunTriggeredByType.TEST,
                state=DagRunState.RUNNING,
                session=session,
            )
            ti = run.get_task_instance("train", session=session)
            ti.state = TaskInstanceState.SCHEDULED
            runs[name] = ti
        session.flush()
        weights = {name: ti.priority_weight for name, ti in runs.items()}
        runner = SchedulerJobRunner(job=Job())
        queued = runner._executable_task_instances_to_queued(max_tis=10, session=session)
        picked = [(ti.dag_id, ti.task_id) for ti in queued]
        session.rollback()
    assert weights == {"pool_manual_ct": MANUAL_WEIGHT, "pool_new_data_ct": AUTOMATIC_WEIGHT}
    assert picked == [("pool_new_data_ct", "train")]  # the manual run's waits for the slot
