"""A distributed CT run: CeleryExecutor, Redis broker, PostgreSQL, two workers; one dies.

The cluster runs every Airflow component as its own process (api-server, scheduler, DAG
processor, triggerer, two Celery workers). While the ``train`` task runs its training
subprocess on one worker, that worker's process group is killed with SIGKILL (no cleanup, no
state reported). The scheduler must notice the missing heartbeats, the retry must run on the
other worker, and the run must end with exactly one new model version.
"""

from __future__ import annotations

import os
import signal
import time
import uuid
from dataclasses import dataclass
from typing import Any

import pytest

from airflow_mlops.lineage import RUN_ID_TAG
from airflow_mlops.local.services import session_processes

pytestmark = [pytest.mark.slow, pytest.mark.integration]

DAG_ID = "ct_celery"
TRAIN = "train"
#: short enough to keep the test quick, long enough for supervisors' 5 s heartbeats under load
HEARTBEAT_TIMEOUT_S = 20
RUN_TIMEOUT_S = 300
TRAINING_MODULE = "airflow_mlops.training"


def training_process(session: int) -> int | None:
    """The pid of the training subprocess running in ``session``, if one runs."""
    for pid, (_, cmdline) in session_processes(session).items():
        if f"-m {TRAINING_MODULE} " in cmdline:
            return pid
    return None


@dataclass(frozen=True)
class Outcome:
    victim: str
    survivor: str
    training_pid: int
    worker_group: int
    orphans: dict[int, tuple[int, str]]
    orphans_at_retry: dict[int, tuple[int, str]]
    run: dict[str, Any]
    tasks: dict[str, dict[str, Any]]
    train_tries: list[dict[str, Any]]
    registry: Any
    run_id: str
    detect_s: float
    wall_s: float


def _kill_during_training(cluster, run_id: str, timeout_s: float = 240) -> tuple[str, int, float]:
    """Wait until ``train`` runs its training subprocess on a worker, then SIGKILL that
    worker's process group; returns (worker, training pid, when)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        train = next(t for t in cluster.api.task_instances(DAG_ID, run_id) if t["task_id"] == TRAIN)
        worker = cluster.services.get(train.get("hostname") or "")
        if train["state"] == "running" and worker is not None:
            pid = training_process(worker.pid)
            if pid is not None:
                os.killpg(worker.pid, signal.SIGKILL)
                killed_at = time.monotonic()
                while any(
                    group == worker.pid for group, _ in session_processes(worker.pid).values()
                ):
                    time.sleep(0.1)
                return worker.name, pid, killed_at
        if train["state"] in ("success", "failed", "upstream_failed", "skipped"):
            break
        time.sleep(0.2)
    pytest.fail(f"never saw {TRAIN} training on a worker: {train}")


@pytest.fixture(scope="module")
def outcome(start_cluster, redis_server: str) -> Outcome:
    model = f"celery-{uuid.uuid4().hex[:6]}"
    cluster = start_cluster(
        "celery",
        {DAG_ID: {"model_name": model, "retries": 1, "retry_delay_s": 2}},
        executor="CeleryExecutor",
        broker_url=redis_server,
        workers=2,
        env={
            "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT": str(HEARTBEAT_TIMEOUT_S),
            "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT_DETECTION_INTERVAL": "2",
        },
    )
    started = time.monotonic()
    run_id = cluster.api.trigger(DAG_ID)
    victim, training_pid, killed_at = _kill_during_training(cluster, run_id)
    session = cluster.services[victim].pid
    # the task runner has its own process group: a group kill leaves it and its training
    orphans = session_processes(session)
    detect_s = _wait_for_retry(cluster, run_id, killed_at)
    orphans_at_retry = session_processes(session)
    run = cluster.api.wait_for_run(DAG_ID, run_id, timeout_s=RUN_TIMEOUT_S)
    outcome = Outcome(
        victim=victim,
        survivor=next(n for n in cluster.services if n.startswith("worker-") and n != victim),
        training_pid=training_pid,
        worker_group=session,
        orphans=orphans,
        orphans_at_retry=orphans_at_retry,
        run=run,
        tasks={t["task_id"]: t for t in cluster.api.task_instances(DAG_ID, run_id)},
        train_tries=cluster.api.task_tries(DAG_ID, run_id, TRAIN),
        registry=cluster.registry(model),
        run_id=run_id,
        detect_s=detect_s,
        wall_s=time.monotonic() - started,
    )
    print(
        f"\nkilled {victim} (training pid {training_pid}); left behind: {orphans}; "
        f"still alive at the retry: {orphans_at_retry}; "
        f"retry queued {detect_s:.0f} s after the kill; run {run['state']} in "
        f"{outcome.wall_s:.0f} s; train tries: "
        f"{[(t['try_number'], t['state'], t['hostname']) for t in outcome.train_tries]}"
    )
    return outcome


def _wait_for_retry(cluster, run_id: str, killed_at: float) -> float:
    """Seconds from the kill until ``train`` left the running state of its first try."""
    while time.monotonic() - killed_at < RUN_TIMEOUT_S:
        train = next(t for t in cluster.api.task_instances(DAG_ID, run_id) if t["task_id"] == TRAIN)
        if train["try_number"] > 1 or train["state"] != "running":
            return time.monotonic() - killed_at
        time.sleep(1)
    pytest.fail(f"{TRAIN} still running {RUN_TIMEOUT_S} s after its worker was killed")


def test_the_worker_died_while_training(outcome: Outcome) -> None:
    assert outcome.orphans, "nothing of the worker's session was left: it died before training"
    assert all(group != outcome.worker_group for group, _ in outcome.orphans.values())
    assert outcome.training_pid in outcome.orphans  # the kill came while training ran


def test_the_run_ends_successfully(outcome: Outcome) -> None:
    assert outcome.run["state"] == "success"
    assert {t["state"] for t in outcome.tasks.values()} == {"success"}


def test_train_is_retried_on_the_other_worker(outcome: Outcome) -> None:
    tries = {t["try_number"]: t for t in outcome.train_tries}
    assert sorted(tries) == [1, 2]
    assert tries[1]["hostname"] == outcome.victim
    assert tries[1]["state"] == "failed"  # its heartbeats stopped
    assert tries[2]["hostname"] == outcome.survivor
    assert tries[2]["state"] == "success"
    # only the task that was running on the dead worker ran twice
    retried = {task_id for task_id, t in outcome.tasks.items() if t["try_number"] > 1}
    assert retried == {TRAIN}


def test_the_failure_is_noticed_within_the_heartbeat_timeout(outcome: Outcome) -> None:
    assert outcome.detect_s < HEARTBEAT_TIMEOUT_S * 3


def test_exactly_one_new_version_is_registered(outcome: Outcome) -> None:
    versions = outcome.registry.versions
    assert list(versions) == ["1"]
    assert versions["1"][RUN_ID_TAG] == outcome.run_id
    assert outcome.registry.champion == "1"
    assert "previous" not in outcome.registry.aliases
