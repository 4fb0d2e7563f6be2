"""Every configuration snippet of docs/scaling.md (files under docs/snippets/), validated.

The page includes these files verbatim (pymdownx.snippets), so what is tested is what is shown.
"""

from __future__ import annotations

import ast
import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
SNIPPETS = REPO / "docs" / "snippets"
EXECUTOR_ENVS = {"celery.env": "CeleryExecutor", "kubernetes-executor.env": "KubernetesExecutor"}
#: Kubernetes quantities: "4", "500m", "16Gi", "2G"
QUANTITY = re.compile(r"^\d+(\.\d+)?(m|k|M|G|T|Ki|Mi|Gi|Ti)?$")
DNS_1123 = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")


def read_env(name: str) -> dict[str, str]:
    """``KEY=VALUE`` lines of an env snippet, as a shell would set them (quotes removed)."""
    values = {}
    for line in (SNIPPETS / name).read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            key, _, value = line.partition("=")
            (values[key],) = shlex.split(value)
    return values


def test_the_page_includes_every_snippet():
    page = (REPO / "docs" / "scaling.md").read_text(encoding="utf-8")
    included = set(re.findall(r'--8<-- "snippets/([^":]+)', page))
    assert included == {p.name for p in SNIPPETS.iterdir() if p.is_file()}


@pytest.mark.parametrize(("name", "executor"), sorted(EXECUTOR_ENVS.items()))
def test_executor_env_uses_postgres_and_a_shared_artifact_root(name, executor):
    from airflow.configuration import conf
    from sqlalchemy.engine import make_url

    env = read_env(name)
    assert env["AIRFLOW__CORE__EXECUTOR"] == executor
    url = make_url(env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"])
    assert url.drivername == "postgresql+psycopg2" and url.database == "airflow"
    async_url = make_url(env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_ASYNC"])
    assert async_url.drivername == "postgresql+asyncpg"
    assert async_url.set(drivername=url.drivername) == url  # the same database
    assert Path(env["AIRFLOW_MLOPS_ARTIFACT_ROOT"]).is_absolute()
    for key in env:
        assert key.startswith(("AIRFLOW__", "AIRFLOW_MLOPS_")), key
        section, _, option = key.removeprefix("AIRFLOW__").lower().partition("__")
        # the celery and kubernetes_executor sections come from their providers (test extra)
        if key.startswith("AIRFLOW__"):
            known = conf.configuration_description.get(section, {}).get("options", {})
            assert option in known, f"{key}: Airflow knows no option [{section}] {option}"


@pytest.mark.parametrize("name", sorted(EXECUTOR_ENVS))
def test_airflow_reads_the_settings_and_parses_the_dags_with_them(name, tmp_path):
    """A fresh interpreter configured only by the snippet (plus a private home) parses dags/."""
    probe = """
import json, sys
from pathlib import Path
from airflow.configuration import conf
from airflow.dag_processing.dagbag import BundleDagBag
from sqlalchemy.engine import make_url
bag = BundleDagBag(dag_folder="dags", bundle_path=Path("dags"), safe_mode=False)
print(json.dumps({
    "executor": conf.get("core", "executor"),
    "driver": make_url(conf.get("database", "sql_alchemy_conn")).drivername,
    "dags": sorted(bag.dag_ids),
    "errors": {k: v.splitlines()[-1] for k, v in bag.import_errors.items()},
}))
"""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")}
    env |= read_env(name) | read_env("connections.env")
    env |= {
        "AIRFLOW_HOME": str(tmp_path / "airflow"),
        "AIRFLOW__CORE__DAGS_FOLDER": str(REPO / "dags"),
        "AIRFLOW_MLOPS_HOME": str(tmp_path / "home"),
        "AIRFLOW_MLOPS_ARTIFACT_ROOT": str(tmp_path / "home" / "artifacts"),
    }
    done = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["executor"] == EXECUTOR_ENVS[name]
    assert report["driver"] == "postgresql+psycopg2"
    assert report["errors"] == {}
    assert {"mlops_level0_manual", "mlops_level1_ct", "mlops_level2_cicd"} <= set(report["dags"])


def test_connection_uris_parse_and_the_hooks_resolve_them(monkeypatch):
    from airflow.models import Connection
    from airflow.providers.amazon.aws.hooks.base_aws import AwsBaseHook

    from airflow_mlops.hooks.mlflow import MlflowHook

    env = read_env("connections.env")
    aws = Connection(conn_id="aws_default", uri=env["AIRFLOW_CONN_AWS_DEFAULT"])
    assert aws.conn_type == "aws" and aws.extra_dejson == {"region_name": "eu-west-1"}
    mlflow = Connection(conn_id="mlflow_default", uri=env["AIRFLOW_CONN_MLFLOW_DEFAULT"])
    assert (mlflow.conn_type, mlflow.host, mlflow.port) == ("mlflow", "mlflow.mlops.svc", 5000)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    assert MlflowHook().get_tracking_uri() == "http://mlflow.mlops.svc:5000"
    assert AwsBaseHook(aws_conn_id="aws_default", client_type="s3").conn_region_name == (
        "eu-west-1"
    )
    repository = env["AIRFLOW_VAR_MLOPS_ECR_REPOSITORY"]
    assert re.fullmatch(r"\d{12}\.dkr\.ecr\.[a-z0-9-]+\.amazonaws\.com/[a-z0-9._/-]+", repository)


def test_mlflow_server_command_is_accepted_by_the_mlflow_cli():
    from mlflow.cli import cli

    argv = shlex.split((SNIPPETS / "mlflow-server.sh").read_text().replace("\\\n", " "))
    assert argv[:2] == ["mlflow", "server"]
    params = cli.commands["server"].make_context("server", argv[2:]).params
    assert params["backend_store_uri"].startswith("postgresql+psycopg2://")
    assert params["artifacts_destination"].startswith("s3://")
    assert params["serve_artifacts"] is True


def section(name: str, part: str) -> str:
    """The ``--8<-- [start:part]`` ... ``[end:part]`` section of a snippet file."""
    text = (SNIPPETS / name).read_text(encoding="utf-8")
    match = re.search(rf"# --8<-- \[start:{part}\]\n(.*?)# --8<-- \[end:{part}\]", text, re.S)
    assert match, f"{name} has no section {part!r}"
    return match.group(1)


def _pod_spec() -> dict:
    namespace: dict = {}
    exec(compile(section("k8s_training.py", "pod"), "k8s_training.py", "exec"), namespace)
    return namespace["TRAINING_POD"]


def test_pod_spec_requests_a_gpu_and_is_locked_down():
    pod = _pod_spec()
    json.dumps(pod)  # plain JSON: what pod_template_dict and the API accept
    assert (pod["apiVersion"], pod["kind"]) == ("v1", "Pod")
    assert DNS_1123.match(pod["metadata"]["name"]) and pod["metadata"]["namespace"] == "mlops"
    spec = pod["spec"]
    (container,) = spec["containers"]
    assert container["name"] == "base"  # KubernetesPodOperator merges its args into "base"
    resources = container["resources"]
    assert resources["limits"]["nvidia.com/gpu"] == "1"
    for quantity in [*resources["limits"].values(), *resources["requests"].values()]:
        assert QUANTITY.match(quantity), quantity
    assert "nvidia.com/gpu" in {t["key"] for t in spec["tolerations"]}
    assert container["args"][container["args"].index("--params") + 1].count('"device": "cuda"')
    volumes = {v["name"]: v for v in spec["volumes"]}
    assert {m["name"] for m in container["volumeMounts"]} <= set(volumes)
    assert volumes["data"]["persistentVolumeClaim"] == {
        "claimName": "mlops-datasets",
        "readOnly": True,
    }
    assert volumes["output"]["persistentVolumeClaim"]["claimName"] == "mlops-artifacts"
    security = container["securityContext"]
    assert security["runAsNonRoot"] and not security["allowPrivilegeEscalation"]
    assert security["readOnlyRootFilesystem"] and security["capabilities"] == {"drop": ["ALL"]}
    assert spec["restartPolicy"] == "Never" and spec["serviceAccountName"] == "mlops-training"


def test_pod_spec_is_a_valid_kubernetes_pod():
    from kubernetes.client import ApiClient

    client = ApiClient()
    pod = client._ApiClient__deserialize(_pod_spec(), "V1Pod")
    assert pod.spec.containers[0].resources.limits["nvidia.com/gpu"] == "1"
    assert client.sanitize_for_serialization(pod)["spec"]["containers"][0]["name"] == "base"


def test_kubernetes_pod_operator_snippet():
    source = section("k8s_training.py", "task")
    tree = ast.parse(source)
    call = next(n for n in ast.walk(tree) if isinstance(n, ast.Call) and
                getattr(n.func, "id", "") == "KubernetesPodOperator")  # fmt: skip
    assert {k.arg for k in call.keywords} >= {"task_id", "pod_template_dict", "image"}
    from airflow.sdk import DAG

    namespace: dict = {}
    with DAG(dag_id="k8s_training_snippet", schedule=None):
        exec((SNIPPETS / "k8s_training.py").read_text(), namespace)
    assert namespace["train"].pod_template_dict == namespace["TRAINING_POD"]


def test_the_kubernetes_backend_config_builds_a_pod_operator():
    from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator

    namespace: dict = {}
    exec(compile((SNIPPETS / "k8s_pipeline.py").read_text(), "k8s_pipeline.py", "exec"), namespace)
    train = namespace["dag"].get_task("train")
    assert isinstance(train, KubernetesPodOperator) and train.namespace == "mlops"
    assert train.kubernetes.node_selector == {"node.kubernetes.io/instance-type": "g6.2xlarge"}
    assert train.automount_service_account_token is False


def test_executor_worker_pod_template_renders_a_locked_down_worker():
    """The KubernetesExecutor's own rendering: the template as base pod of a task's worker."""
    from airflow.providers.cncf.kubernetes.pod_generator import PodGenerator

    env = read_env("kubernetes-executor.env")
    assert Path(env["AIRFLOW__KUBERNETES_EXECUTOR__POD_TEMPLATE_FILE"]).name == "worker.yaml"
    template = PodGenerator.deserialize_model_file(str(SNIPPETS / "kubernetes-worker-pod.yaml"))
    pod = PodGenerator.construct_pod(
        dag_id="ct_model", task_id="train", pod_id="ct-model-train", try_number=1,
        kube_image="airflow-worker:3.3.2-mlops", date=None,
        args=["airflow", "tasks", "run", "ct_model", "train", "manual__1"],
        pod_override_object=None, base_worker_pod=template, namespace="airflow",
        scheduler_job_id="1", run_id="manual__1",
    )  # fmt: skip
    (container,) = pod.spec.containers
    assert container.image == "airflow-worker:3.3.2-mlops" and container.args[:3] == [
        "airflow", "tasks", "run",
    ]  # fmt: skip
    assert pod.metadata.namespace == "airflow" and pod.metadata.annotations["task_id"] == "train"
    mounts = {m.name: m.mount_path for m in container.volume_mounts}
    assert env["AIRFLOW_MLOPS_ARTIFACT_ROOT"].startswith(mounts["artifacts"])
    claims = {v.name: v.persistent_volume_claim for v in pod.spec.volumes}
    assert claims["artifacts"].claim_name == "mlops-artifacts"
    security = container.security_context
    assert pod.spec.security_context.run_as_non_root and security.read_only_root_filesystem
    assert security.allow_privilege_escalation is False and security.capabilities.drop == ["ALL"]
    assert pod.spec.automount_service_account_token is False
    for quantity in [*container.resources.limits.values(), *container.resources.requests.values()]:
        assert QUANTITY.match(quantity), quantity
    assert all(e.value_from is None for e in container.env) and not container.env_from


def test_s3_operators_snippet_builds_the_operators():
    from airflow.sdk import DAG

    namespace: dict = {}
    with DAG(dag_id="s3_snippet", schedule=None):
        exec(compile((SNIPPETS / "s3_data.py").read_text(), "s3_data.py", "exec"), namespace)
    pull, export = namespace["pull"], namespace["export"]
    assert pull.remote_url == "s3://acme-mlops/dvc-store" and pull.aws_conn_id == "aws_default"
    assert export.output_uri.startswith("s3://") and export.conn_id == "aws_default"
