from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pandas as pd
import pytest

from airflow_mlops.errors import ConfigError, TrainingError
from airflow_mlops.training.container import (
    DATA_MOUNT,
    OUTPUT_MOUNT,
    choose_gpu,
    entrypoint_args,
    explain_failure,
    kubernetes_pod_spec,
    prepare_output,
    read_result,
    run_local,
    without_secrets,
)

PARAMS = {"label": "malignant", "max_epochs": 3, "hidden_layers": [16]}


def test_gpu_choice() -> None:
    auto = choose_gpu("auto", ["runc"])
    assert (auto.request_gpu, auto.device) == (False, "cpu")
    assert "no NVIDIA runtime (runtimes: ['runc'])" in auto.reason
    assert choose_gpu("auto", ["nvidia", "runc"]).request_gpu
    assert choose_gpu("required", ["nvidia"]).device == "cuda"
    assert choose_gpu("none", ["nvidia"]).request_gpu is False
    with pytest.raises(
        ConfigError, match="gpu='required' but the Docker engine has no NVIDIA"
    ) as info:
        choose_gpu("required", ["runc"])
    assert "nvidia-ctk" in str(info.value)
    with pytest.raises(ConfigError, match="gpu='maybe'"):
        choose_gpu("maybe", [])


def test_entrypoint_args_point_into_the_mounts() -> None:
    args = entrypoint_args("cancer.csv", {"label": "y"})
    assert args == [
        "--data", f"{DATA_MOUNT}/cancer.csv", "--output", OUTPUT_MOUNT, "--params", '{"label": "y"}'
    ]  # fmt: skip


def test_prepare_output_removes_a_previous_result(tmp_path: Path) -> None:
    (tmp_path / "metrics.json").write_text("{}")
    (tmp_path / "error.json").write_text("{}")
    (tmp_path / "model.pt").write_bytes(b"old")
    prepare_output(tmp_path)
    assert [p.name for p in tmp_path.iterdir()] == ["model.pt"]
    with pytest.raises(TrainingError, match=r"no readable metrics\.json"):
        read_result(tmp_path)


def test_explain_oom_timeout_traceback_and_silence(tmp_path: Path) -> None:
    oom = explain_failure(
        exit_code=137, output_dir=tmp_path, logs=["a"], oom_killed=True, memory_limit="1g"
    )
    assert "killed by the out-of-memory killer at its memory limit 1g" in str(oom)
    assert "batch_size" in str(oom)
    timeout = explain_failure(exit_code=137, output_dir=tmp_path, logs=[], timed_out_after=5)
    assert "killed after its 5 s timeout" in str(timeout)
    silent = explain_failure(exit_code=1, output_dir=tmp_path, logs=[f"l{i}" for i in range(50)])
    assert "wrote no error report" in str(silent)
    assert silent.details["log_tail"][0] == "l20"
    (tmp_path / "error.json").write_text(
        json.dumps({"kind": "crash", "message": "boom", "hint": None, "traceback": "Traceback..."})
    )
    crash = explain_failure(exit_code=1, output_dir=tmp_path, logs=[])
    assert "exit code 1) with crash: boom\nTraceback..." in str(crash)


@pytest.fixture(scope="module")
def demo_csv(cancer: pd.DataFrame, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("data") / "cancer.csv"
    cancer.to_csv(path, index=False)
    return path


def test_local_backend_runs_the_entrypoint(demo_csv: Path, tmp_path: Path) -> None:
    lines: list[str] = []
    result = run_local(demo_csv, tmp_path / "out", PARAMS, timeout=300, log=lines.append)
    assert result["checkpoint_uri"] == (tmp_path / "out").resolve().as_uri()
    assert result["device"] == "cpu"
    assert result["metrics"]["epochs_run"] == 3
    assert "history" not in result["metrics"]
    assert any(line.startswith("epoch   3/3 |") for line in lines)


def test_local_backend_reports_the_error_of_the_run(demo_csv: Path, tmp_path: Path) -> None:
    with pytest.raises(TrainingError, match=r"exit code 3\) with DataError: label='nope'"):
        run_local(demo_csv, tmp_path, {"label": "nope"}, log=lambda line: None)
    assert json.loads((tmp_path / "error.json").read_text())["kind"] == "DataError"


def test_local_backend_timeout(demo_csv: Path, tmp_path: Path) -> None:
    with pytest.raises(TrainingError, match=r"subprocess was killed after its 0\.5 s timeout"):
        run_local(demo_csv, tmp_path, PARAMS, timeout=0.5, log=lambda line: None)


def test_entrypoint_refuses_bad_params(demo_csv: Path, tmp_path: Path) -> None:
    import subprocess

    done = subprocess.run(
        [sys.executable, "-m", "airflow_mlops.training", "--data", str(demo_csv),
         "--output", str(tmp_path), "--params", '{"label": "malignant", "dropout": 2}'],
        capture_output=True, text=True,
    )  # fmt: skip
    assert done.returncode == 2
    assert "dropout=2" in done.stderr
    assert json.loads((tmp_path / "error.json").read_text())["kind"] == "ConfigError"


def test_kubernetes_pod_spec_requests_gpus_and_locks_down_the_pod() -> None:
    pod = kubernetes_pod_spec(
        image="registry/train@sha256:abc",
        data_path="/data/cancer.csv",
        output_path="/out/run1",
        params={"label": "malignant"},
        gpu="required",
        gpus=2,
        data_claim="datasets",
        output_claim="artifacts",
    )
    container = pod["spec"]["containers"][0]
    assert container["image"] == "registry/train@sha256:abc"
    assert container["resources"]["limits"] == {"cpu": "2", "memory": "8Gi", "nvidia.com/gpu": "2"}
    args = container["args"]
    assert args[:4] == ["--data", "/mnt/data/cancer.csv", "--output", "/mnt/output"]
    assert json.loads(args[5]) == {"label": "malignant", "device": "cuda"}
    security = container["securityContext"]
    assert security["runAsNonRoot"] and security["readOnlyRootFilesystem"]
    assert security["allowPrivilegeEscalation"] is False
    mounts = {m["name"]: m for m in container["volumeMounts"]}
    assert mounts["data"]["readOnly"] is True
    assert "readOnly" not in mounts["output"]
    volumes = {v["name"]: v for v in pod["spec"]["volumes"]}
    assert volumes["data"]["persistentVolumeClaim"] == {"claimName": "datasets", "readOnly": True}
    assert volumes["dshm"]["emptyDir"]["medium"] == "Memory"
    assert pod["spec"]["restartPolicy"] == "Never"
    assert pod["spec"]["tolerations"][0]["key"] == "nvidia.com/gpu"
    json.dumps(pod)


def test_kubernetes_pod_spec_on_cpu_uses_host_paths() -> None:
    pod = kubernetes_pod_spec(
        image="train:1", data_path="/data/x.parquet", output_path="/out", params={}, gpu="none"
    )
    container = pod["spec"]["containers"][0]
    assert "nvidia.com/gpu" not in container["resources"]["limits"]
    assert json.loads(container["args"][5]) == {"device": "cpu"}
    assert "tolerations" not in pod["spec"]
    assert pod["spec"]["volumes"][0]["hostPath"]["path"] == "/data"
    with pytest.raises(ConfigError, match="gpu='all'"):
        kubernetes_pod_spec(image="x", data_path="/d", output_path="/o", params={}, gpu="all")


def test_credentials_stay_out_of_the_environment() -> None:
    worker = {
        "PATH": "/usr/bin",
        "HOME": "/home/airflow",
        "PYTHONPATH": "/opt/site",
        "OMP_NUM_THREADS": "2",
        "CUDA_VISIBLE_DEVICES": "0",
        "AWS_REGION": "eu-west-1",
        "AWS_ACCESS_KEY_ID": "AKIA",
        "AWS_SECRET_ACCESS_KEY": "s3cr3t",
        "AWS_SESSION_TOKEN": "tok",
        "MLFLOW_TRACKING_USERNAME": "ci",
        "MLFLOW_TRACKING_PASSWORD": "pw",
        "AIRFLOW_CONN_WAREHOUSE": "postgres://u:pw@db/x",
        "AIRFLOW_VAR_API": "value",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": "postgresql://u:pw@db/airflow",
        "AIRFLOW__CORE__FERNET_KEY": "fernet",
        "GITHUB_TOKEN": "ghp",
        "OPENAI_API_KEY": "sk",
        "NOTE": "masked-by-airflow",
    }
    kept = without_secrets(worker, is_secret=lambda value: "masked" in value)
    assert sorted(kept) == [
        "AWS_REGION",
        "CUDA_VISIBLE_DEVICES",
        "HOME",
        "OMP_NUM_THREADS",
        "PATH",
        "PYTHONPATH",
    ]


def test_local_backend_process_gets_no_credentials(
    demo_csv: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The entrypoint's own process records its environment (through a sitecustomize)."""
    site, seen = tmp_path / "site", tmp_path / "environ.json"
    site.mkdir()
    (site / "sitecustomize.py").write_text(
        "import json, os, sys\n"
        "if 'airflow_mlops.training' in sys.orig_argv:\n"
        f"    open({str(seen)!r}, 'w').write(json.dumps(dict(os.environ)))\n"
    )
    path = [str(site), os.environ.get("PYTHONPATH", "")]
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, path)))
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "s3cr3t")
    monkeypatch.setenv("MLFLOW_TRACKING_PASSWORD", "pw")
    monkeypatch.setenv("AIRFLOW_CONN_WAREHOUSE", "postgres://u:pw@db/x")
    monkeypatch.setenv("MLOPS_PLAIN", "kept")
    monkeypatch.setenv("MLOPS_MASKED", "held-by-a-connection")

    run_local(
        demo_csv,
        tmp_path / "out",
        PARAMS,
        timeout=300,
        log=lambda line: None,
        is_secret=lambda value: value == "held-by-a-connection",
    )

    environ = json.loads(seen.read_text())
    assert environ["MLOPS_PLAIN"] == "kept"
    withheld = {"AWS_SECRET_ACCESS_KEY", "MLFLOW_TRACKING_PASSWORD", "AIRFLOW_CONN_WAREHOUSE"}
    assert not (withheld | {"MLOPS_MASKED"}) & set(environ)
