"""TrainInDockerOperator without a Docker engine: argument checks, params, local backend."""

from __future__ import annotations

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
