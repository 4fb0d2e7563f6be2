"""The CT runs of a model from Airflow's metadata database, for the MLOps page's timeline.

The DAGs are those tagged :func:`~airflow_mlops.ct.plan.model_dag_tag` (``build_ct_dag`` tags
its DAG so); per DAG run the task instances' states and the return values of the tasks in
:data:`~airflow_mlops.dashboard.timeline.TIMELINE_TASKS`, in three queries whatever the number
of runs. What they mean is :func:`~airflow_mlops.dashboard.timeline.ct_run_row`'s business.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from airflow_mlops.ct.plan import model_dag_tag
from airflow_mlops.dashboard.links import LinkBuilder
from airflow_mlops.dashboard.timeline import TIMELINE_RUNS, TIMELINE_TASKS, ct_run_row


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def ct_runs(name: str, links: LinkBuilder, limit: int = TIMELINE_RUNS) -> dict[str, Any]:
    """``{"name", "dag_ids", "runs"}``: the newest ``limit`` runs of ``name``'s CT DAGs as
    timeline rows, newest first."""
    from airflow.models.dag import DagTag
    from airflow.models.dagrun import DagRun
    from airflow.models.taskinstance import TaskInstance
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session
    from sqlalchemy import select

    tag = model_dag_tag(name)
    with create_session() as session:
        dag_ids = sorted(session.scalars(select(DagTag.dag_id).where(DagTag.name == tag)))
        if not dag_ids:
            return {"name": name, "dag_ids": [], "runs": []}
        runs = session.scalars(
            select(DagRun)
            .where(DagRun.dag_id.in_(dag_ids))
            .order_by(DagRun.run_after.desc())
            .limit(limit)
        ).all()
        keys = {(r.dag_id, r.run_id) for r in runs}
        run_ids = sorted({r.run_id for r in runs})
        tasks: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
        for ti in session.execute(
            select(
                TaskInstance.dag_id,
                TaskInstance.run_id,
                TaskInstance.task_id,
                TaskInstance.state,
                TaskInstance.start_date,
            ).where(TaskInstance.dag_id.in_(dag_ids), TaskInstance.run_id.in_(run_ids))
        ):
            if (ti.dag_id, ti.run_id) in keys:
                tasks[ti.dag_id, ti.run_id].append(
                    {"task_id": ti.task_id, "state": ti.state, "start_date": _iso(ti.start_date)}
                )
        returns: dict[tuple[str, str], dict[str, Any]] = defaultdict(dict)
        for xcom in session.scalars(
            select(XComModel).where(
                XComModel.dag_id.in_(dag_ids),
                XComModel.run_id.in_(run_ids),
                XComModel.task_id.in_(TIMELINE_TASKS),
                XComModel.key == "return_value",
                XComModel.map_index == -1,
            )
        ):
            if (xcom.dag_id, xcom.run_id) in keys:
                returns[xcom.dag_id, xcom.run_id][xcom.task_id] = XComModel.deserialize_value(xcom)
        rows = [
            ct_run_row(
                {
                    "dag_id": r.dag_id,
                    "run_id": r.run_id,
                    "run_type": str(r.run_type),
                    "state": str(r.state),
                    "start_date": _iso(r.start_date),
                    "end_date": _iso(r.end_date),
                },
                tasks[r.dag_id, r.run_id],
                returns[r.dag_id, r.run_id],
                links,
            )
            for r in runs
        ]
    return {"name": name, "dag_ids": dag_ids, "runs": rows}
