"""The ``airflow-mlops`` command and the service runner behind it."""

from __future__ import annotations

import os
import socket
import sys
from pathlib import Path

import pytest

from airflow_mlops.errors import ServiceError
from airflow_mlops.local.cli import build_parser, main
from airflow_mlops.local.services import ServiceSpec, free_port, start_service, stop_service


def test_every_documented_command_parses() -> None:
    parser = build_parser()
    for command in ("demo", "up", "down", "status", "bootstrap-data"):
        assert parser.parse_args([command]).func
    assert parser.parse_args(["rollback", "--model", "m"]).model == "m"


def test_status_reports_stopped_services(tmp_path: Path, capsys) -> None:
    assert (
        main(
            [
                "--home",
                str(tmp_path),
                "--airflow-port",
                str(free_port()),
                "--mlflow-port",
                str(free_port()),
                "status",
            ]
        )
        == 0
    )
    assert capsys.readouterr().out.splitlines() == ["airflow: stopped", "mlflow: stopped"]


def test_up_refuses_a_taken_port_with_a_clear_message(tmp_path: Path, capsys) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        code = main(["--home", str(tmp_path), "--mlflow-port", str(port), "up"])
    assert code == 1
    err = capsys.readouterr().err
    assert f"port {port} on 127.0.0.1 is already in use" in err
    assert "airflow-mlops down" in err


def test_a_service_that_dies_at_start_shows_its_log_tail(tmp_path: Path) -> None:
    spec = ServiceSpec(
        name="broken",
        argv=[sys.executable, "-c", "import sys; print('config file is unreadable'); sys.exit(3)"],
        port=free_port(),
        health_url="http://127.0.0.1:1/never",
    )
    with pytest.raises(ServiceError, match="exited with code 3") as raised:
        start_service(spec, run_dir=tmp_path / "run", log_dir=tmp_path / "logs")
    assert "config file is unreadable" in str(raised.value)
    assert not (tmp_path / "run" / "broken.pid").exists()


def test_a_started_service_is_stopped_with_its_children(tmp_path: Path) -> None:
    port = free_port()
    spec = ServiceSpec(
        name="http",
        argv=[sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1"],
        port=port,
        health_url=f"http://127.0.0.1:{port}/",
        startup_timeout_s=30,
    )
    service = start_service(spec, run_dir=tmp_path / "run", log_dir=tmp_path / "logs")
    assert service.log_path.exists()
    assert stop_service("http", tmp_path / "run") is True
    assert stop_service("http", tmp_path / "run") is False
    with socket.socket() as probe:
        assert probe.connect_ex(("127.0.0.1", port)) != 0


def test_bootstrap_data_creates_the_registry(tmp_path: Path, capsys) -> None:
    assert main(["--home", str(tmp_path), "bootstrap-data"]) == 0
    out = capsys.readouterr().out
    assert "v1, v2, v3-drift, v4-corrupt" in out
    assert (tmp_path / "data-registry" / "data" / "cancer.csv.dvc").exists()
    assert any((tmp_path / "dvc-remote").rglob("*"))


def test_standalone_finds_this_interpreters_airflow_without_an_activated_venv(tmp_path) -> None:
    from airflow_mlops.local.services import airflow_standalone_spec

    spec = airflow_standalone_spec(tmp_path / "home", tmp_path / "dags", free_port())
    assert spec.env["PATH"].split(os.pathsep)[0] == str(Path(sys.executable).parent)
    assert Path(spec.argv[0]).parent == Path(sys.executable).parent


def test_build_image_loads_the_pipeline_config_and_builds_from_the_library_image(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    from airflow_mlops.training import image
    from airflow_mlops.training.image import BuiltImage

    (tmp_path / "my_pipeline.py").write_text(
        "from airflow_mlops.ct.config import CTPipelineConfig, DatasetSpec, ModelSpec\n"
        "CONFIG = CTPipelineConfig(dag_id='ct', model_name='m', model=ModelSpec("
        "model_factory='net:make', package_path='net'), dataset=DatasetSpec("
        "name='d', registry='/r', path='d.csv', label='y'))\n"
        "OTHER = 1\n"
    )
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", list(sys.path))
    calls = []

    def build(model, library_image, **kwargs):
        calls.append((model.package_path, library_image, kwargs["root"]))
        return BuiltImage("airflow-mlops-train-user:x", "sha256:u", True, 1.0, library_image)

    monkeypatch.setattr(image, "build_user_image", build)
    args = ["build-image", "--config", "my_pipeline:CONFIG", "--library-image", "lib:1"]
    assert main(args) == 0
    assert calls == [("net", "lib:1", tmp_path)]
    assert "airflow-mlops-train-user:x" in capsys.readouterr().out
    for bad in ("my_pipeline:OTHER", "no_such_module:CONFIG"):
        assert main(["build-image", "--config", bad]) == 1
        assert "--config" in capsys.readouterr().err
