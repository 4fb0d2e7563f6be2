"""Whole level-1 CT runs whose training crashes, is killed mid-write, hangs, or finds no engine.

The local backend runs the real entrypoint in a subprocess; a ``sitecustomize`` on its
``PYTHONPATH`` breaks its first start (:func:`break_training_subprocess`). The Docker cases run
the same DAG on the training image (marked ``docker``). Operator-level Docker OOM, crash and
timeout are in tests/integration/training/test_docker_training.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.reliability.faults import (
    break_training_subprocess,
    failed_at,
    leftovers,
    tree,
)

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def training_dir(run) -> Path:
    """The train task's output directory of ``run``."""
    import re

    from airflow_mlops.settings import MlopsHome

    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", run.run_id)
    return MlopsHome.from_env().artifacts / "training" / run.dag_id / safe / "train"


def processes_mentioning(text: str) -> list[int]:
    """Pids of live processes whose command line contains ``text``."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and text in (entry / "cmdline").read_text():
                found.append(int(entry.name))
        except OSError:
            continue
    return found


def test_crash_in_epoch_2_fails_with_the_traceback(ct, tmp_path: Path, capfd) -> None:
    fired = break_training_subprocess(ct.monkeypatch, tmp_path, "crash")

    run = ct.run()

    assert fired.exists()
    failed_at(run, "train")
    log = capfd.readouterr().out
    assert "TrainingTaskError: Training failed in the subprocess (exit code 1) with crash: " in log
    assert "RuntimeError: injected crash in epoch 2" in log
    assert "Traceback (most recent call last)" in log
    assert tree(training_dir(run)) == ["error.json"]  # no checkpoint, no metrics
    assert ct.registry().versions == {}


def test_killed_mid_write_leaves_no_partial_checkpoint_and_the_retry_recovers(
    ct, tmp_path: Path, capfd
) -> None:
    fired = break_training_subprocess(ct.monkeypatch, tmp_path, "kill-mid-write")

    run = ct.run(ct.dag(retries=1))

    assert fired.exists()
    assert run.state == "success", run
    assert run.try_numbers["train"] == 2
    log = capfd.readouterr().out
    assert "TrainingTaskError: The training subprocess was killed by SIGKILL" in log
    files = tree(training_dir(run))
    assert files == ["config.json", "metrics.json", "model.pt"], files
    assert leftovers(training_dir(run)) == []  # the killed try's half-written temp file
    assert list(ct.registry().versions) == ["1"]


def test_hang_past_the_timeout_is_killed(ct, tmp_path: Path, capfd) -> None:
    break_training_subprocess(ct.monkeypatch, tmp_path, "hang")
    dag = ct.dag()
    dag.get_task("train").train_timeout = 5

    run = ct.run(dag)

    failed_at(run, "train")
    log = capfd.readouterr().out
    assert "TrainingTaskError: The training subprocess was killed after its 5 s timeout" in log
    assert "What to do: Raise the timeout" in log
    assert processes_mentioning(str(training_dir(run))) == []
    assert ct.registry().versions == {}


def test_docker_engine_unreachable_fails_the_training_task_with_what_to_do(
    ct, monkeypatch: pytest.MonkeyPatch, capfd
) -> None:
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")

    run = ct.run(ct.dag(backend="docker"))

    # the first task asks the engine for the image's content digest (the CT fingerprint)
    failed_at(run, "prepare_run")
    log = capfd.readouterr().out
    assert "MlopsTaskError: No Docker engine answers at unix:///nonexistent/docker.sock" in log
    assert "or set backend='local'" in log
    assert "Run refused before any work" not in log  # a service that is down: retried
    assert not training_dir(run).exists() or tree(training_dir(run)) == []
    assert ct.registry().versions == {}


# --- the same DAG on the training image --------------------------------------------------


@pytest.fixture
def docker_dag(ct, training_image):
    """``(dag, label)``: the test's CT DAG training in the session's training image, and the
    ``key=value`` label that its containers alone carry."""
    import uuid

    dag = ct.dag(backend="docker", training_image=training_image.tag, gpu="none")
    train = dag.get_task("train")
    value = uuid.uuid4().hex
    train.labels = {**train.labels, "airflow-mlops.test": value}
    return dag, f"airflow-mlops.test={value}"


def containers_labelled(label: str) -> list[str]:
    """Ids of the containers (running or not) carrying ``label`` (``key=value``)."""
    import subprocess

    command = ["docker", "ps", "-aq", "--filter", f"label={label}"]
    return subprocess.run(command, capture_output=True, text=True, check=True).stdout.split()


DOCKER_FAULTS = {
    "oom": ({"mem_limit": "48m"}, "was killed by the out-of-memory killer at its memory limit 48m"),
    # 1 s: less than the container needs to import torch, so the timeout always strikes first
    "timeout": ({"train_timeout": 1}, "The training container was killed after its 1 s timeout"),
    "crash": (
        {"entrypoint": ["python", "-c", "raise RuntimeError('injected crash in the container')"]},
        "RuntimeError: injected crash in the container",
    ),
}


@pytest.mark.docker
@pytest.mark.integration
@pytest.mark.parametrize("fault", DOCKER_FAULTS)
def test_container_fault_fails_the_run(fault: str, ct, docker_dag, capfd) -> None:
    settings, message = DOCKER_FAULTS[fault]
    dag, label = docker_dag
    train = dag.get_task("train")
    for name, value in settings.items():
        setattr(train, name, value)

    run = ct.run(dag)

    failed_at(run, "train")
    log = capfd.readouterr().out
    assert "TrainingTaskError: " in log
    assert message in log
    assert "model.pt" not in tree(training_dir(run))
    assert containers_labelled(label) == []  # removed after the failure
    assert ct.registry().versions == {}
