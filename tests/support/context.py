"""The one fake task context of the tests: what an operator's ``execute`` reads of Airflow's.

Tests get it through the ``task_context`` fixture (``tests/conftest.py``), a factory:
``task_context("validate")`` or ``task_context(task=operator, run_type="scheduled")``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

#: the run id of a fake context unless a test names another
RUN_ID = "manual__2026-01-01T00:00:00+00:00"


@dataclass
class FakeTaskInstance:
    """The task-instance attributes the operators use; ``pushed`` records XCom pushes."""

    dag_id: str = "tests"
    run_id: str = RUN_ID
    task_id: str = "task"
    map_index: int = -1
    try_number: int = 1
    pushed: dict[str, Any] = field(default_factory=dict)

    def xcom_push(self, key: str, value: Any) -> None:
        self.pushed[key] = value


def make_task_context(
    task_id: str | None = None,
    *,
    task: Any = None,
    dag_id: str = "tests",
    run_id: str = RUN_ID,
    run_type: str = "manual",
    conf: dict[str, Any] | None = None,
    **overrides: Any,
) -> dict[str, Any]:
    """A task context for ``task`` (an operator; its ``task_id`` and DAG are used when given).

    :param task_id: the task id of the task instance (default ``task.task_id``, else ``task``).
    :param task: the operator, stored under ``task``; its DAG, when it has one, under ``dag``.
    :param dag_id: the DAG id when ``task`` has no DAG.
    :param run_id: the run id of the task instance and the DAG run.
    :param run_type: the DAG run's type (``manual``, ``scheduled``, ``asset_triggered``).
    :param conf: the DAG run's conf.
    :param overrides: keys replaced or added (``outlet_events``, ``params``, ...).
    """
    if task is not None and task.has_dag():
        dag = task.dag
        dag_id = dag.dag_id
    else:
        dag = SimpleNamespace(dag_id=dag_id)
    ti = FakeTaskInstance(
        dag_id=dag_id, run_id=run_id, task_id=task_id or getattr(task, "task_id", "task")
    )
    run = SimpleNamespace(dag_id=dag_id, run_id=run_id, run_type=run_type, conf=conf or {})
    context: dict[str, Any] = {
        "ti": ti,
        "task_instance": ti,
        "dag": dag,
        "dag_run": run,
        "run_id": run_id,
        "params": {},
        "inlet_events": {},
        "outlet_events": {},
        "triggering_asset_events": {},
    }
    if task is not None:
        context["task"] = task
    return {**context, **overrides}
