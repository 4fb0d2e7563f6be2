"""TrainInDockerOperator without a Docker engine: argument checks, params, local backend."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import pytest

from airflow_mlops.local.demo.dataset import breast_cancer_frame
from airflow_mlops.operators.training import TrainInDockerOperator, TrainingTaskError
from airflow_mlops.variables import DEFAULT_TRAINING_IMAGE, TRAINING_IMAGE_VARIABLE

NO_ENGINE = "unix:///nonexistent/docker.sock"


@pytest.fixture(scope="module")
def demo_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("data") / "cancer.csv"
    breast_cancer_frame().to_csv(path, index=False)
    return path


def make(demo_csv: Path, tmp_path: Path, **kwargs) -> TrainInDockerOperator:
    kwargs.setdefault("training_params", {"label": "malignant", "max_epochs": 2})
    kwargs.setdefault("image", DEFAULT_TRAINING_IMAGE)  # as the default template renders
    return TrainInDockerOperator(
        task_id="train", data_path=str(demo_csv), output_dir=str(tmp_path / "out"),
        docker_url=NO_ENGINE, **kwargs,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"gpu": "yes"}, "gpu='yes': must be one of 'auto', 'required', 'none'"),
        ({"backend": "k8s"}, "backend='k8s': must be one of 'docker', 'local'"),
        ({"train_timeout": 0}, r"train_timeout=0: must be in \(0, "),
        ({"cpu_limit": -1}, r"cpu_limit=-1: must be in \(0, 1024\]"),
    ],
)
def test_cheap_arguments_are_checked_at_construction(kwargs, message, demo_csv, tmp_path) -> None:
    with pytest.raises(ValueError, match=message):
        make(demo_csv, tmp_path, **kwargs)


def test_templated_fields_and_default_image(demo_csv: Path, tmp_path: Path) -> None:
    op = make(demo_csv, tmp_path, image=None)
    for field in ("image", "data_path", "training_params", "output_dir", "environment"):
        assert field in op.template_fields
    assert TRAINING_IMAGE_VARIABLE in op.image
    assert op.network_mode == "none"
    assert op.auto_remove == "never"  # execute removes the container itself, after inspecting it
    assert op.retrieve_output is False
    assert op.labels["airflow-mlops.training"] == "true"


def test_bad_params_fail_before_any_container(task_context, demo_csv: Path, tmp_path: Path) -> None:
    op = make(demo_csv, tmp_path, training_params={"label": "malignant", "epochs": 3})
    with pytest.raises(TrainingTaskError, match=r"Unknown training parameters: \['epochs'\]"):
        op.execute(task_context("train"))


def test_missing_data_is_reported(task_context, tmp_path: Path) -> None:
    op = make(tmp_path / "nope.csv", tmp_path)
    with pytest.raises(TrainingTaskError, match=r"nope\.csv' is not a local file"):
        op.execute(task_context("train"))


def test_no_engine_says_how_to_start_one_or_go_local(
    task_context, demo_csv: Path, tmp_path: Path
) -> None:
    op = make(demo_csv, tmp_path)
    with pytest.raises(
        TrainingTaskError, match="No Docker engine answers at unix:///nonexistent"
    ) as info:
        op.execute(task_context("train"))
    assert "backend='local'" in str(info.value)


def test_local_backend_trains_in_a_subprocess(task_context, demo_csv: Path, tmp_path: Path) -> None:
    result = make(demo_csv, tmp_path, backend="local", gpu="none").execute(task_context("train"))
    assert result["backend"] == "local"
    assert result["image_digest"] is None
    assert result["device"] == "cpu"
    assert result["metrics"]["epochs_run"] == 2
    assert (tmp_path / "out" / "model.pt").is_file()


def test_default_output_dir_is_per_run_and_path_safe(
    task_context, demo_csv: Path, tmp_path: Path
) -> None:
    op = TrainInDockerOperator(
        task_id="train", data_path=str(demo_csv), training_params={"label": "malignant"}
    )
    path = op.default_output_dir(task_context("train", dag_id="ct"))
    assert path.parts[-4:] == ("training", "ct", "manual__2026-01-01T00_00_00_00_00", "train")


def test_the_host_config_gets_the_lockdown_the_provider_has_no_argument_for(
    demo_csv: Path, tmp_path: Path
) -> None:
    from docker import APIClient

    op = make(demo_csv, tmp_path, cpu_limit=1.5, mem_limit="2g")
    client = APIClient(base_url=NO_ENGINE, version="1.41")  # no engine call
    op.__dict__["hook"] = type("Hook", (), {"api_client": client})()
    config = op.cli.create_host_config(
        mem_limit=op.mem_limit, network_mode=op.network_mode, read_only=False
    )
    assert config["ReadonlyRootfs"] is True  # over the caller's value
    assert config["CapDrop"] == ["ALL"] and config["SecurityOpt"] == ["no-new-privileges"]
    assert config["Memory"] == config["MemorySwap"] == 2 << 30
    assert config["NanoCpus"] == 1_500_000_000 and config["NetworkMode"] == "none"
    assert op.cli.api_version == client.api_version  # everything else is the client's
    assert "create_host_config" not in vars(client)  # the client itself is not patched


@pytest.mark.parametrize("name", ["privileged", "cap_add"])
def test_arguments_that_undo_the_lockdown_are_refused(name, demo_csv, tmp_path) -> None:
    with pytest.raises(ValueError, match="undo the container's lockdown"):
        make(demo_csv, tmp_path, **{name: True if name == "privileged" else ["SYS_ADMIN"]})


def _execute_in_thread(op: TrainInDockerOperator, context) -> tuple[threading.Thread, list]:
    errors: list[BaseException] = []

    def run() -> None:
        try:
            op.execute(context)
        except BaseException as error:  # the test inspects it
            errors.append(error)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, errors


def test_killing_a_local_run_kills_its_process_group_and_removes_its_output(
    task_context, demo_csv: Path, tmp_path: Path
) -> None:
    """What a cancelled or failed-marked run does: Airflow calls on_kill on SIGTERM."""
    params = {"label": "malignant", "max_epochs": 100000, "patience": 100000}
    op = make(demo_csv, tmp_path, backend="local", gpu="none", training_params=params)
    thread, errors = _execute_in_thread(op, task_context("train"))
    deadline = time.monotonic() + 60
    while op._local_run is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert op._local_run is not None
    pid, output = op._local_run
    time.sleep(1)  # training under way
    started = time.monotonic()
    op.on_kill()
    assert time.monotonic() - started < 5  # before Airflow's SIGKILL
    thread.join(30)
    assert not thread.is_alive() and isinstance(errors[0], TrainingTaskError)
    with pytest.raises(ProcessLookupError):
        os.killpg(pid, 0)
    assert not output.exists()


def test_killing_a_docker_run_removes_the_container_at_once() -> None:
    """No ``docker stop`` first (10 s for a PID 1 that ignores SIGTERM, longer than Airflow's
    5 s before SIGKILL): the forced removal kills and removes, whatever auto_remove says."""
    calls: list[tuple] = []

    class Client:
        def stop(self, *args, **kwargs) -> None:
            calls.append(("stop", args))

        def remove_container(self, container: str, force: bool = False) -> None:
            calls.append(("remove_container", container, force))

    op = TrainInDockerOperator(
        task_id="train", data_path="/d.csv", training_params={}, docker_url=NO_ENGINE
    )
    op.__dict__["hook"] = type("Hook", (), {"api_client": Client(), "client_created": True})()
    op.container = {"Id": "c1"}
    for auto_remove in ("never", "success", "force"):
        calls.clear()
        op.auto_remove = auto_remove
        op.on_kill()
        assert calls == [("remove_container", "c1", True)]
