"""Airflow's components and MLflow crash in the middle of a CT run and come back.

One cluster: PostgreSQL, the LocalExecutor, and the api-server, scheduler, DAG processor and
triggerer each its own process, with an MLflow server of its own. For each component a CT run
of a model of its own starts; while ``train`` runs (MLflow: while ``register_model`` talks to
it), every process of that component's session is SIGKILLed at once (as a crashed host or
container loses them, task runners included) and the component is started again. PostgreSQL
(the session's server) is restarted instead: a fast shutdown, 3 s down, up again; whatever
component exited because it lost the database is started again. The run must end successfully,
a lost task retried, with exactly one version of the model, its champion, and no promotion lock
left on the registered model.
"""

from __future__ import annotations

import os
import signal
import time
import uuid

import pytest

from airflow_mlops.lineage import LOCK_TAG, RUN_ID_TAG

pytestmark = [pytest.mark.slow, pytest.mark.integration]

COMPONENTS = ("api-server", "dag-processor", "triggerer", "scheduler", "mlflow", "postgres")
TRAIN = "train"
REGISTER = "register_model"
#: a task whose runner died is failed (and retried) after this many seconds without heartbeat
HEARTBEAT_TIMEOUT_S = 20
#: how often the scheduler looks for tasks of executors that died (Airflow's default: 300 s)
ORPHAN_CHECK_S = 15
RUN_TIMEOUT_S = 420
#: a scheduler without a heartbeat for this long answers 503 on /health (Airflow's default)
SCHEDULER_HEALTH_S = 30
SUFFIX = uuid.uuid4().hex[:6]


def _dag_id(component: str) -> str:
    return "ct_restart_" + component.replace("-", "_")


def _model(component: str) -> str:
    return f"restart-{component}-{SUFFIX}"


@pytest.fixture(scope="module")
def mlflow(tmp_path_factory: pytest.TempPathFactory):
    """This module's MLflow server (SQLite store), which one test crashes and restarts."""
    from airflow_mlops.local.services import (
        free_port,
        mlflow_server_spec,
        start_service,
        stop_service,
    )

    root = tmp_path_factory.mktemp("restart-mlflow")
    spec = mlflow_server_spec(root / "store", free_port())
    start_service(spec, run_dir=root / "run", log_dir=root / "logs")
    yield spec, root
    stop_service(spec.name, root / "run")


@pytest.fixture(scope="module")
def cluster(start_cluster, mlflow):
    dags = {
        _dag_id(c): {"model_name": _model(c), "retries": 1, "retry_delay_s": 2} for c in COMPONENTS
    }
    return start_cluster(
        "restarts",
        dags,
        triggerer=True,
        mlflow_url=f"http://127.0.0.1:{mlflow[0].port}",
        env={
            "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT": str(HEARTBEAT_TIMEOUT_S),
            "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT_DETECTION_INTERVAL": "2",
            # a new scheduler resets the tasks of a dead one's executor at this interval
            "AIRFLOW__SCHEDULER__ORPHANED_TASKS_CHECK_INTERVAL": str(ORPHAN_CHECK_S),
        },
    )


def _wait_for_task(cluster, dag_id: str, run_id: str, task_id: str, timeout_s: float = 300) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        tasks = {t["task_id"]: t for t in cluster.api.task_instances(dag_id, run_id)}
        if tasks[task_id]["state"] == "running":
            return
        if tasks[task_id]["state"] in ("success", "failed", "upstream_failed", "skipped"):
            break
        time.sleep(0.2)
    pytest.fail(f"{task_id} never ran: {tasks[task_id]}")


def _crash_mlflow(mlflow) -> dict[int, tuple[int, str]]:
    """SIGKILL the MLflow server's session, start it again on the same port and store."""
    from airflow_mlops.local.services import session_processes, start_service, stop_service

    spec, root = mlflow
    pid = int((root / "run" / f"{spec.name}.pid").read_text())
    killed = session_processes(pid)
    for victim in killed:
        os.kill(victim, signal.SIGKILL)
    while session_processes(pid):
        time.sleep(0.1)
    stop_service(spec.name, root / "run")
    time.sleep(3)  # down for a while: the task's MLflow calls fail meanwhile
    start_service(spec, run_dir=root / "run", log_dir=root / "logs")
    return killed


@pytest.mark.parametrize("component", COMPONENTS)
def test_a_component_crashes_mid_run_and_the_run_ends_with_one_version(
    cluster, mlflow, postgres_server, component: str
) -> None:
    from mlflow import MlflowClient

    dag_id, model = _dag_id(component), _model(component)
    started = time.monotonic()
    run_id = cluster.api.trigger(dag_id)
    restarted = [component]
    if component == "mlflow":
        _wait_for_task(cluster, dag_id, run_id, REGISTER)
        killed = _crash_mlflow(mlflow)
    elif component == "postgres":  # the session's server: the other modules' clusters are gone
        _wait_for_task(cluster, dag_id, run_id, TRAIN)
        time.sleep(2)
        killed = postgres_server.restart(down_s=3)
        time.sleep(SCHEDULER_HEALTH_S + 10)  # a scheduler that gave up shows it by now
        restarted += cluster.restart_failed()
    else:
        _wait_for_task(cluster, dag_id, run_id, TRAIN)
        time.sleep(2)  # into the training itself
        killed = cluster.crash_and_restart(component)
    restarted_s = time.monotonic() - started
    run = cluster.api.wait_for_run(dag_id, run_id, timeout_s=RUN_TIMEOUT_S)
    tasks = {t["task_id"]: t for t in cluster.api.task_instances(dag_id, run_id)}
    registry = cluster.registry(model)
    model_tags = MlflowClient(cluster.mlflow_url).get_registered_model(model).tags
    print(
        f"\n{component}: killed {len(killed)} processes at {restarted_s:.0f} s, restarted "
        f"{restarted}; run "
        f"{run['state']} after {time.monotonic() - started:.0f} s; tries "
        f"{ {t: tasks[t]['try_number'] for t in (TRAIN, REGISTER)} }; "
        f"versions {sorted(registry.versions)}"
    )
    assert killed, f"no process of {component} was running"
    assert run["state"] == "success", tasks
    assert {t["state"] for t in tasks.values()} == {"success"}
    assert list(registry.versions) == ["1"]  # not lost, not duplicated
    assert registry.versions["1"][RUN_ID_TAG] == run_id
    assert registry.champion == "1"
    assert LOCK_TAG not in model_tags
    if component == "scheduler":  # the LocalExecutor's task runners died with it
        assert tasks[TRAIN]["try_number"] == 2
        assert any("airflow_mlops.training" in cmd for _, cmd in killed.values())
