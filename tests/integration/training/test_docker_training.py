"""TrainInDockerOperator against the real Docker engine and the image built from docker/."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from airflow_mlops.operators.training import TrainInDockerOperator, TrainingTaskError
from airflow_mlops.training.checkpoint import load_checkpoint

pytestmark = [pytest.mark.integration, pytest.mark.docker]

PARAMS = {"label": "malignant", "max_epochs": 6, "learning_rate": 0.01, "hidden_layers": [32]}
#: run instead of the entrypoint to probe the sandbox the operator builds; it reports as metrics
PROBE = """
import json, os, socket, sys
def attempt(action):
    try:
        action()
        return "allowed"
    except OSError as error:
        return type(error).__name__ + ": " + str(error)
def connect():
    socket.create_connection(("1.1.1.1", 53), timeout=3)
report = {
    "uid": os.getuid(),
    "write_data": attempt(lambda: open("/mnt/data/probe.txt", "w").write("x")),
    "write_root": attempt(lambda: open("/probe.txt", "w").write("x")),
    "write_tmp": attempt(lambda: open("/tmp/probe.txt", "w").write("x")),
    "network": attempt(connect),
    "interfaces": sorted(os.listdir("/sys/class/net")),
    "args": sys.argv[1:],
}
json.dump(report, open("/mnt/output/metrics.json", "w"))
"""


def operator(image, demo_csv: Path, output: Path, labels: dict, **kwargs) -> TrainInDockerOperator:
    return TrainInDockerOperator(
        task_id="train",
        image=image.tag,
        data_path=str(demo_csv),
        output_dir=str(output),
        training_params=kwargs.pop("training_params", PARAMS),
        labels=labels,
        **kwargs,
    )


def test_build_is_cached_by_content(training_image, build_training_image) -> None:
    first = build_training_image()  # rebuilds only if the training code changed meanwhile
    started = time.monotonic()
    again = build_training_image()
    assert again.tag == first.tag
    assert again.tag.startswith("airflow-mlops-train:")
    assert again.image_id == first.image_id
    assert not again.built
    assert time.monotonic() - started < 10


def test_trains_on_the_demo_data(
    task_context, training_image, demo_csv, tmp_path, run_label, leftover_containers, capfd
) -> None:
    op = operator(training_image, demo_csv, tmp_path / "out", run_label)
    result = op.execute(task_context("train"))
    assert set(result) == {"checkpoint_uri", "metrics", "image_digest", "device", "backend"}
    assert result["image_digest"] == training_image.image_id
    assert result["device"] == "cpu"
    assert result["backend"] == "docker"
    assert result["metrics"]["val_accuracy"] > 0.9
    assert "history" not in result["metrics"]
    json.dumps(result)
    checkpoint = load_checkpoint(Path(result["checkpoint_uri"].removeprefix("file://")))
    assert checkpoint.preprocessor.n_inputs == 34
    checkpoint.build_model()
    log = capfd.readouterr().out  # the task log (Airflow's structlog writes to stdout here)
    assert "has no NVIDIA runtime" in log
    assert "epoch   6/6 | train_loss" in log
    assert leftover_containers() == []


def test_sandbox_is_read_only_non_root_and_offline(
    task_context, training_image, demo_csv, tmp_path, run_label, leftover_containers
) -> None:
    op = operator(
        training_image, demo_csv, tmp_path / "out", run_label, entrypoint=["python", "-c", PROBE]
    )
    report = op.execute(task_context("train"))["metrics"]
    assert report["uid"] != 0
    assert "Read-only file system" in report["write_data"]
    assert "Read-only file system" in report["write_root"]
    assert report["write_tmp"] == "allowed"
    assert report["network"] != "allowed"
    assert report["interfaces"] == ["lo"]
    assert report["args"][:2] == ["--data", "/mnt/data/cancer.csv"]
    assert not (demo_csv.parent / "probe.txt").exists()
    assert leftover_containers() == []


def test_out_of_memory_is_explained(
    task_context, training_image, demo_csv, tmp_path, run_label, leftover_containers
) -> None:
    op = operator(training_image, demo_csv, tmp_path / "out", run_label, mem_limit="48m")
    with pytest.raises(TrainingTaskError, match="killed by the out-of-memory killer") as info:
        op.execute(task_context("train"))
    assert "at its memory limit 48m" in str(info.value)
    assert "batch_size" in str(info.value)
    assert info.value.details["oom_killed"] is True
    assert info.value.details["exit_code"] == 137
    assert leftover_containers() == []


def test_crash_shows_the_traceback(
    task_context, training_image, demo_csv, tmp_path, run_label, leftover_containers
) -> None:
    params = {**PARAMS, "model_factory": "os:getcwd"}  # called with a dict: a TypeError inside
    op = operator(training_image, demo_csv, tmp_path / "out", run_label, training_params=params)
    with pytest.raises(TrainingTaskError, match=r"exit code 1\) with crash") as info:
        op.execute(task_context("train"))
    message = str(info.value)
    assert "Traceback (most recent call last)" in message
    assert "TypeError" in message
    assert leftover_containers() == []


def test_timeout_kills_and_removes_the_container(
    task_context, training_image, demo_csv, tmp_path, run_label, leftover_containers
) -> None:
    params = {**PARAMS, "max_epochs": 100000, "patience": 100000}
    op = operator(
        training_image, demo_csv, tmp_path / "out", run_label, training_params=params,
        train_timeout=4,
    )  # fmt: skip
    started = time.monotonic()
    with pytest.raises(TrainingTaskError, match="killed after its 4 s timeout"):
        op.execute(task_context("train"))
    assert time.monotonic() - started < 60
    assert leftover_containers() == []


def test_required_gpu_fails_before_any_container(
    task_context, training_image, demo_csv, tmp_path, run_label, leftover_containers
) -> None:
    op = operator(training_image, demo_csv, tmp_path / "out", run_label, gpu="required")
    with pytest.raises(
        TrainingTaskError, match="gpu='required' but the Docker engine has no NVIDIA"
    ):
        op.execute(task_context("train"))
    assert leftover_containers() == []


def test_a_killed_task_removes_its_container_within_airflows_grace(
    task_context, training_image, demo_csv, tmp_path, run_label, leftover_containers
) -> None:
    """A run cancelled or marked failed: Airflow sends SIGTERM, calls on_kill, and SIGKILLs the
    task 5 s later. The container goes (even with auto_remove set) within that time."""
    import threading

    params = {**PARAMS, "max_epochs": 100000, "patience": 100000}
    op = operator(training_image, demo_csv, tmp_path / "out", run_label, training_params=params)
    op.auto_remove = "success"
    errors: list[BaseException] = []

    def run() -> None:
        try:
            op.execute(task_context("train"))
        except BaseException as error:  # the test inspects it
            errors.append(error)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 120
    while not leftover_containers() and time.monotonic() < deadline:
        time.sleep(0.2)
    time.sleep(2)  # training under way
    started = time.monotonic()
    op.on_kill()
    assert time.monotonic() - started < 5
    assert leftover_containers() == []
    thread.join(60)
    assert errors and not thread.is_alive()
