"""Security: secrets of Airflow connections never leave the places meant for them.

The secrets in play are distinctive strings: the key pair of the AWS connection of an S3 DVC
remote (a real IAM user of the moto server, which then checks every request's signature) and the
password of the MLflow connection. A whole CT run uses both; then every place a secret could
land is searched: the task log (``dag.test()`` prints it to the process output, *unmasked*, and
writes no log files, so a hit there is a real leak), XCom, the rendered template fields Airflow
stores, the MLflow run, model and artifacts, every file of the Airflow and MLOps homes (the
metadata DB included) and of the test session. The training container is inspected while it
runs: secrets are neither in its environment nor anywhere in ``docker inspect``, and it runs
locked down.
"""

from __future__ import annotations

import json
import os
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from airflow_mlops.operators.export import ExportOnnxOperator
from airflow_mlops.operators.training import TrainInDockerOperator, TrainingTaskError
from tests.support.context import make_task_context

pytestmark = pytest.mark.integration

MASKED = "***"
#: run instead of the training entrypoint: reports what the container sees, then stays up
PROBE = """
import json, os, time
report = {"env": dict(os.environ), "uid": os.getuid(), "gid": os.getgid()}
json.dump(report, open("/mnt/output/metrics.json", "w"))
time.sleep(3)
"""


@dataclass(frozen=True)
class Secrets:
    """The secrets of this test's connections; ``key_id`` is an AWS key's public half."""

    aws_secret_key: str
    mlflow_password: str
    key_id: str

    @property
    def values(self) -> dict[str, str]:
        return {k: v for k, v in vars(self).items()}


def hits(secrets: Secrets, text: str | bytes) -> list[str]:
    """The names of the secrets found in ``text``."""
    data = text.encode() if isinstance(text, str) else text
    return [name for name, value in secrets.values.items() if value.encode() in data]


@pytest.fixture
def secrets(s3_server: str, monkeypatch: pytest.MonkeyPatch) -> Secrets:
    """An IAM user of the moto server whose key pair is the AWS connection ``sec_aws`` (moto
    now checks signatures), and an MLflow connection ``sec_mlflow`` with a password. Only the
    connections hold the secrets: the session's fake AWS keys leave the environment."""
    import boto3
    from airflow.sdk._shared.secrets_masker import reset_secrets_masker
    from moto import settings

    # a fresh worker's masker: secrets registered by earlier tests (a password "testing" masks
    # every value that contains that word) would make the checks here depend on test order
    reset_secrets_masker()
    iam = boto3.client("iam", endpoint_url=s3_server, region_name="us-east-1")
    user = f"ct-{uuid.uuid4().hex[:8]}"
    iam.create_user(UserName=user)
    policy = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*"}]}
    policy["Statement"][0]["Resource"] = "*"
    iam.put_user_policy(UserName=user, PolicyName="s3", PolicyDocument=json.dumps(policy))
    key = iam.create_access_key(UserName=user)["AccessKey"]
    monkeypatch.setattr(settings, "INITIAL_NO_AUTH_ACTION_COUNT", 0)
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.delenv(name, raising=False)
    # MlflowHook exports the password to the worker's environment: restore it afterwards
    for name in ("MLFLOW_TRACKING_USERNAME", "MLFLOW_TRACKING_PASSWORD"):
        monkeypatch.setenv(name, "")
        monkeypatch.delenv(name)
    found = Secrets(
        aws_secret_key=key["SecretAccessKey"],
        mlflow_password=f"mlflow-pw-{uuid.uuid4().hex}",
        key_id=key["AccessKeyId"],
    )
    aws = {
        "conn_type": "aws",
        "login": found.key_id,
        "password": found.aws_secret_key,
        "extra": {"endpoint_url": s3_server, "region_name": "us-east-1"},
    }
    monkeypatch.setenv("AIRFLOW_CONN_SEC_AWS", json.dumps(aws))
    return found


def mlflow_connection(url: str, secrets: Secrets) -> str:
    return json.dumps(
        {"conn_type": "mlflow", "host": url, "login": "mlops", "password": secrets.mlflow_password}
    )


def files_under(*roots: Path) -> list[Path]:
    seen: set[Path] = set()
    for root in filter(Path.exists, roots):
        seen.update(p for p in root.rglob("*") if p.is_file() and not p.is_symlink())
    return sorted(seen)


def stored_by_airflow(dag_id: str, run_id: str) -> tuple[list[Any], list[Any]]:
    """The run's XCom values and rendered template fields, as Airflow stored them."""
    from airflow.models.renderedtifields import RenderedTaskInstanceFields as Rendered
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    with create_session() as session:
        xcoms = session.query(XComModel).filter_by(dag_id=dag_id, run_id=run_id).all()
        rendered = session.query(Rendered).filter_by(dag_id=dag_id, run_id=run_id).all()
        return [x.value for x in xcoms], [
            value for row in rendered for value in row.rendered_fields.values()
        ]


def mlflow_record(url: str, model_name: str, into: Path) -> tuple[list[str], Path]:
    """Every param, tag, metric name and description of the model, its versions and their
    runs (one string each), and a directory holding the runs' artifacts."""
    from mlflow import MlflowClient

    client = MlflowClient(url)
    model = client.get_registered_model(model_name)
    values = [model.description or "", *map(str, model.tags.items())]
    for version in client.search_model_versions(f"name='{model_name}'"):
        values += [version.description or "", version.source, *map(str, version.tags.items())]
        run = client.get_run(version.run_id)
        values += [
            str(item)
            for kind in ("params", "tags", "metrics")
            for item in getattr(run.data, kind).items()
        ]
        client.download_artifacts(version.run_id, "", str(into / version.run_id))
    return values, into


@pytest.mark.slow
def test_a_ct_run_with_s3_and_mlflow_credentials_leaks_no_secret(
    s3_remote: str,  # before ``secrets``: the bucket is filled before moto checks signatures
    secrets: Secrets,
    ct,
    demo_registry,
    session_dir: Path,
    tmp_path: Path,
    tmp_path_factory: pytest.TempPathFactory,
    monkeypatch: pytest.MonkeyPatch,
    capfd: pytest.CaptureFixture[str],
) -> None:
    from airflow.sdk.log import redact

    from airflow_mlops.local.demo.registry import dvc_argv, run_tool

    # the registry's default remote is the S3 bucket; an empty DVC cache must fetch from it
    run_tool(dvc_argv("remote", "add", "-d", "s3", s3_remote), demo_registry.repo)
    run_tool(["git", "commit", "-q", "-am", "Data on S3"], demo_registry.repo)
    home = tmp_path / "mlops-home"
    monkeypatch.setenv("AIRFLOW_MLOPS_HOME", str(home))
    monkeypatch.setenv("AIRFLOW_CONN_MLFLOW_DEFAULT", mlflow_connection(ct.mlflow_url, secrets))
    dataset = {"registry": str(demo_registry.repo), "remote_aws_conn_id": "sec_aws"}
    dag = ct.dag(dataset=dataset, validation_reference_rev="main")

    started = time.monotonic()
    run = ct.run(dag)
    log = "".join(capfd.readouterr())
    print(f"run {time.monotonic() - started:.0f} s")

    assert run.state == "success", run.task_states
    xcoms, rendered = stored_by_airflow(run.dag_id, run.run_id)
    pulled = [x for x in xcoms if isinstance(x, dict) and "fetched" in x]
    assert sum(x["fetched"] for x in pulled) >= 1  # objects came from S3, signed by the key
    assert ct.registry().versions  # the MLflow connection was used
    assert "Pulled data/cancer.csv" in log  # the capture holds the task log

    record, artifacts = mlflow_record(ct.mlflow_url, ct.model_name, tmp_path / "artifacts")
    files = files_under(session_dir, home, tmp_path_factory.getbasetemp())
    log_files = files_under(Path(os.environ["AIRFLOW_HOME"]) / "logs")
    found = {
        "task log": hits(secrets, log),
        "XCom": [h for x in xcoms for h in hits(secrets, json.dumps(x, default=str))],
        "rendered fields": [h for r in rendered for h in hits(secrets, json.dumps(r, default=str))],
        "MLflow": [h for value in record for h in hits(secrets, value)],
        "files": {str(p): h for p in files if (h := hits(secrets, p.read_bytes()))},
    }
    print(
        f"searched: task log {len(log)} chars ({len(log_files)} log files), {len(xcoms)} XCom "
        f"values, {len(rendered)} rendered fields, {len(record)} MLflow values, "
        f"{len(files)} files (artifacts {len(files_under(artifacts))})"
    )
    assert len(xcoms) >= 8 and len(rendered) >= 20 and len(files) > 100
    assert found == {
        "task log": [],
        "XCom": [],
        "rendered fields": [],
        "MLflow": [],
        "files": {},
    }
    # a log file written by Airflow's supervisor would mask both secrets
    assert redact(secrets.aws_secret_key) == MASKED
    assert redact(secrets.mlflow_password) == MASKED


#: a task that prints a connection's password and renders it into a template field
CANARY_DAG = """
from airflow.sdk import DAG, BaseHook, task

with DAG("security_canary", schedule=None) as dag:

    @task(templates_dict={"password": "{{ conn.sec_aws.password }}"})
    def canary(templates_dict=None):
        print("canary:", BaseHook.get_connection("sec_aws").password)

    canary()
"""


def test_control_the_captured_task_log_is_unmasked(
    secrets: Secrets, ct, capfd: pytest.CaptureFixture[str]
) -> None:
    """Control for the CT-run test: under ``dag.test()`` a secret a task prints reaches the
    captured log in clear (so no hit there means nothing printed it), while Airflow stores the
    rendered template field masked."""
    path = ct.dags_folder / "security_canary.py"
    path.write_text(CANARY_DAG)
    namespace: dict[str, Any] = {"__file__": str(path)}
    exec(compile(CANARY_DAG, str(path), "exec"), namespace)

    run = namespace["dag"].test()
    log = "".join(capfd.readouterr())

    assert str(run.state) == "success"
    assert f"canary: {secrets.aws_secret_key}" in log
    _, rendered = stored_by_airflow("security_canary", run.run_id)
    assert {"password": MASKED} in rendered


def test_assumed_role_credentials_handed_to_dvc_are_masked(
    s3_server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Temporary credentials (an assumed role, from STS, not from the connection) are
    registered with the masker too, so a supervised task's log never shows them."""
    from airflow.sdk.log import redact

    from airflow_mlops.hooks.dvc import DvcRemoteHook

    extra = {
        "endpoint_url": s3_server,
        "region_name": "us-east-1",
        "role_arn": "arn:aws:iam::123456789012:role/dvc-reader",
        "service_config": {"sts": {"endpoint_url": s3_server}},
    }
    connection = {"conn_type": "aws", "login": "AKIABASE", "password": "base-key", "extra": extra}
    monkeypatch.setenv("AIRFLOW_CONN_DVC_ROLE", json.dumps(connection))

    options = DvcRemoteHook("dvc_role").get_remote_config()

    assert options["session_token"] and options["secret_access_key"] != "base-key"
    assert redact(options["secret_access_key"]) == MASKED
    assert redact(options["session_token"]) == MASKED


@pytest.mark.slow
def test_s3_data_for_validation_and_export_leaks_no_secret(
    secrets: Secrets,
    s3_server: str,
    tmp_path: Path,
    capfd: pytest.CaptureFixture[str],
) -> None:
    """ValidateDataOperator reads s3:// data and ExportOnnxOperator reads and writes s3://
    through the AWS connection (moto checks each signature)."""
    import boto3

    from airflow_mlops.local.demo.dataset import LABEL, breast_cancer_frame
    from airflow_mlops.operators.validation import ValidateDataOperator
    from airflow_mlops.training.config import TrainingConfig
    from airflow_mlops.training.loop import train

    s3 = boto3.client(
        "s3",
        endpoint_url=s3_server,
        region_name="us-east-1",
        aws_access_key_id=secrets.key_id,
        aws_secret_access_key=secrets.aws_secret_key,
    )
    bucket = f"data-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=bucket)
    local = tmp_path / "local"
    frame = breast_cancer_frame()
    local.mkdir()
    frame.to_csv(local / "cancer.csv", index=False)
    train(frame, TrainingConfig(label=LABEL, max_epochs=1, num_threads=1), local / "ckpt")
    for path in [local / "cancer.csv", *(local / "ckpt").iterdir()]:
        s3.upload_file(str(path), bucket, str(path.relative_to(local)))
    context = make_task_context("validate", dag_id="ct", run_id="r1")

    validation = ValidateDataOperator(
        task_id="validate",
        dataset=f"s3://{bucket}/cancer.csv",
        reference=f"s3://{bucket}/cancer.csv",
        label_column=LABEL,
        aws_conn_id="sec_aws",
        artifact_root=str(tmp_path / "artifacts"),
    ).execute(context)
    export = ExportOnnxOperator(
        task_id="export",
        checkpoint_uri=f"s3://{bucket}/ckpt",
        output_uri=f"s3://{bucket}/onnx",
        conn_id="sec_aws",
        sample_rows=64,
        latency_batches=(),
    ).execute(context)
    log = "".join(capfd.readouterr())

    assert validation["outcome"] == "pass"
    assert s3.head_object(Bucket=bucket, Key="onnx/model.onnx")["ContentLength"] > 0
    assert hits(secrets, json.dumps([validation, export, context["ti"].pushed], default=str)) == []
    assert hits(secrets, log) == []
    assert {str(p): h for p in files_under(tmp_path) if (h := hits(secrets, p.read_bytes()))} == {}


def test_private_environment_and_env_file_are_refused() -> None:
    for argument in ({"private_environment": {"TOKEN": "x"}}, {"env_file": "TOKEN=x"}):
        with pytest.raises(ValueError, match="docker inspect"):
            TrainInDockerOperator(task_id="t", data_path="d.csv", training_params={}, **argument)


@pytest.mark.parametrize("where", ["environment", "training_params"])
def test_a_masked_secret_never_reaches_the_container(
    secrets: Secrets, tmp_path: Path, where: str
) -> None:
    from airflow.sdk import BaseHook

    password = BaseHook.get_connection("sec_aws").password  # Airflow masks it from now on
    data = tmp_path / "data.csv"
    data.write_text("a,y\n1,0\n2,1\n")
    extra = (
        {"environment": {"AWS_SECRET": password}}
        if where == "environment"
        else {"training_params": {"label": "y", "model_kwargs": {"key": password}}}
    )
    operator = TrainInDockerOperator(
        task_id="train",
        image="airflow-mlops-train:latest",
        data_path=str(data),
        output_dir=str(tmp_path / "out"),
        **{"training_params": {"label": "y"}, **extra},
    )
    with pytest.raises(TrainingTaskError, match=f"container's {where}") as caught:
        operator.execute({})
    assert hits(secrets, str(caught.value)) == []


@pytest.mark.docker
def test_the_running_training_container_is_locked_down_and_holds_no_secret(
    docker_engine,
    training_image,
    secrets: Secrets,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capfd: pytest.CaptureFixture[str],
) -> None:
    """A worker that has used both connections (their secrets in its memory and environment)
    runs the training container; it is inspected while it runs."""
    from airflow.sdk import BaseHook

    import docker
    from airflow_mlops.hooks.mlflow import MlflowHook

    monkeypatch.setenv("AIRFLOW_CONN_SEC_MLFLOW", mlflow_connection("http://mlflow:5000", secrets))
    MlflowHook("sec_mlflow").get_tracking_uri()
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", BaseHook.get_connection("sec_aws").password)
    # control: the worker's environment holds both secrets (and its AIRFLOW_CONN_* variables)
    assert os.environ["MLFLOW_TRACKING_PASSWORD"] == secrets.mlflow_password
    assert os.environ["AWS_SECRET_ACCESS_KEY"] == secrets.aws_secret_key
    data = tmp_path / "data" / "cancer.csv"
    data.parent.mkdir(mode=0o755)
    data.write_text("a,y\n1,0\n2,1\n")
    data.chmod(0o644)
    label = {"airflow-mlops.test": uuid.uuid4().hex}
    operator = TrainInDockerOperator(
        task_id="train",
        image=training_image.tag,
        data_path=str(data),
        output_dir=str(tmp_path / "out"),
        training_params={"label": "y", "max_epochs": 1},
        entrypoint=["python", "-c", PROBE],
        environment={"MLOPS_NOTE": "plain value"},
        labels=label,
    )
    result: dict[str, Any] = {}
    worker = threading.Thread(target=lambda: result.update(operator.execute({})))
    client = docker.from_env()
    worker.start()
    inspected = None
    deadline = time.monotonic() + 120
    while inspected is None and worker.is_alive() and time.monotonic() < deadline:
        filters = {"label": "=".join(*label.items()), "status": "running"}
        running = client.api.containers(filters=filters)
        inspected = client.api.inspect_container(running[0]["Id"]) if running else None
        time.sleep(0.1)
    worker.join(timeout=120)
    log = "".join(capfd.readouterr())

    assert inspected is not None, "the container was never seen running"
    host = inspected["HostConfig"]
    assert inspected["Config"]["User"] == "1000:1000"  # the worker runs as root here
    assert result["metrics"]["uid"] == 1000
    assert host["ReadonlyRootfs"] is True
    assert host["NetworkMode"] == "none"
    assert host["CapDrop"] == ["ALL"] and not host["CapAdd"]
    assert host["SecurityOpt"] == ["no-new-privileges"]
    assert host["Privileged"] is False
    assert host["PidMode"] == "" and host["IpcMode"] != "host"
    assert not host["Devices"] and not host["Binds"]
    assert {m["Destination"]: m["RW"] for m in inspected["Mounts"]} == {
        "/mnt/data": False,
        "/mnt/output": True,
        "/tmp": True,  # the size-capped tmpfs (tmp_size), the only other writable path
    }
    assert [m["Type"] for m in inspected["Mounts"] if m["Destination"] == "/tmp"] == ["tmpfs"]
    assert host["Memory"] > 0 and host["MemorySwap"] == host["Memory"]

    print(
        f"container env: {sorted(inspected['Config']['Env'])}; user {inspected['Config']['User']}"
    )
    image_env = client.api.inspect_image(training_image.tag)["Config"]["Env"] or []
    names = {entry.split("=", 1)[0] for entry in inspected["Config"]["Env"]}
    assert names == {e.split("=", 1)[0] for e in image_env} | {
        "PYTHONUNBUFFERED",
        "HOME",
        "MLOPS_NOTE",
    }
    assert hits(secrets, json.dumps(inspected)) == []
    assert hits(secrets, json.dumps(result["metrics"]["env"])) == []
    assert hits(secrets, log) == []
    assert client.api.containers(all=True, filters={"label": "=".join(*label.items())}) == []
