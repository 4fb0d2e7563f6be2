"""backend="kubernetes": the factory's training task is a KubernetesPodOperator whose pod, rendered
by the real cncf-kubernetes provider (build_pod_request_obj) into kubernetes client models,
asks for the config's GPUs and placement and is locked down like the Docker container."""

from __future__ import annotations

import json

import pytest
from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator
from kubernetes.client import ApiClient, V1Pod

from airflow_mlops.ct.config import CTPipelineConfig, DatasetSpec
from airflow_mlops.errors import ConfigError
from airflow_mlops.operators.kubernetes import TrainingPodError, TrainOnKubernetesOperator
from airflow_mlops.operators.pipeline import build_ct_dag
from airflow_mlops.training.container import KubernetesTraining

DATASET = DatasetSpec(name="data", registry="/r", path="data/train.csv", label="y")
PLACEMENT = KubernetesTraining(
    namespace="mlops",
    gpu_resource="nvidia.com/gpu",
    gpus=2,
    cpu="4",
    memory="16Gi",
    node_selector={"cloud.google.com/gke-accelerator": "nvidia-l4"},
    tolerations=({"key": "dedicated", "operator": "Equal", "value": "ml", "effect": "NoSchedule"},),
    data_claim="mlops-datasets",
    output_claim="mlops-artifacts",
)


def rendered_pod(task: TrainOnKubernetesOperator, tmp_path, task_context) -> V1Pod:
    """The pod the provider would create, for a data file and output under ``tmp_path``."""
    data = tmp_path / "data" / "train.csv"
    data.parent.mkdir()
    data.write_text("x,y\n1,0\n")
    task.data_path, task.output_dir = str(data), str(tmp_path / "out")
    task.training_params = {"label": "y", "max_epochs": 3}
    task.image = "registry.example/train@sha256:" + "a" * 64
    task.plan_pod(task_context(task=task))
    return task.build_pod_request_obj(dry_run=True)


@pytest.fixture
def k8s_task() -> TrainOnKubernetesOperator:
    config = CTPipelineConfig(
        dag_id="ct_k8s", model_name="m", dataset=DATASET, backend="kubernetes",
        kubernetes=PLACEMENT, gpu="required",
    )  # fmt: skip
    return build_ct_dag(config).get_task("train")


def test_the_factory_builds_a_kubernetes_pod_operator_for_training(k8s_task) -> None:
    assert isinstance(k8s_task, KubernetesPodOperator)
    assert type(k8s_task) is TrainOnKubernetesOperator
    assert k8s_task.namespace == "mlops" and k8s_task.kubernetes == PLACEMENT
    assert k8s_task.automount_service_account_token is False
    assert k8s_task.active_deadline_seconds > 0


def test_the_rendered_pod_has_the_gpus_placement_and_lockdown(k8s_task, tmp_path, task_context):
    pod = rendered_pod(k8s_task, tmp_path, task_context)
    (container,) = pod.spec.containers
    assert container.name == "base" and container.image.startswith("registry.example/train@")
    assert container.resources.limits == {"cpu": "4", "memory": "16Gi", "nvidia.com/gpu": "2"}
    assert container.resources.requests == {"cpu": "4", "memory": "16Gi"}
    assert json.loads(container.args[5]) == {**json.loads(container.args[5]), "device": "cuda"}
    assert pod.spec.node_selector == {"cloud.google.com/gke-accelerator": "nvidia-l4"}
    assert {(t.key, t.effect) for t in pod.spec.tolerations} == {
        ("dedicated", "NoSchedule"),
        ("nvidia.com/gpu", "NoSchedule"),
    }
    security = container.security_context
    assert security.run_as_non_root and security.run_as_user == 1000
    assert security.read_only_root_filesystem and security.allow_privilege_escalation is False
    assert security.capabilities.drop == ["ALL"]
    assert pod.spec.automount_service_account_token is False
    assert pod.spec.active_deadline_seconds == k8s_task.active_deadline_seconds
    assert pod.spec.restart_policy == "Never" and pod.metadata.namespace == "mlops"
    # no secrets: plain values only, no secret or config-map references, no XCom sidecar
    assert all(env.value_from is None for env in container.env)
    assert not container.env_from and len(pod.spec.containers) == 1
    volumes = {v.name: v for v in pod.spec.volumes}
    assert volumes["data"].persistent_volume_claim.read_only is True
    assert volumes["output"].persistent_volume_claim.claim_name == "mlops-artifacts"
    assert not any(v.secret for v in pod.spec.volumes)
    # what the API server would get
    assert ApiClient().sanitize_for_serialization(pod)["spec"]["containers"][0]["name"] == "base"


def test_a_cpu_run_requests_no_gpu_and_uses_host_paths(tmp_path, task_context) -> None:
    config = CTPipelineConfig(
        dag_id="ct_cpu", model_name="m", dataset=DATASET, backend="kubernetes", gpu="none"
    )
    pod = rendered_pod(build_ct_dag(config).get_task("train"), tmp_path, task_context)
    assert "nvidia.com/gpu" not in pod.spec.containers[0].resources.limits
    assert not pod.spec.tolerations and not pod.spec.node_selector
    assert pod.spec.volumes[0].host_path.path == str(tmp_path / "data")


def test_an_unknown_gpu_resource_is_refused_naming_the_known_ones() -> None:
    with pytest.raises(ConfigError, match="'nvidia/gpu' is not a GPU resource") as caught:
        KubernetesTraining(gpu_resource="nvidia/gpu")
    assert "nvidia.com/gpu" in caught.value.hint
    assert KubernetesTraining(gpu_resource="nvidia.com/mig-1g.10gb").gpus == 1


@pytest.mark.parametrize("argument", ["secrets", "env_from", "container_security_context"])
def test_arguments_that_add_secrets_or_undo_the_lockdown_are_refused(argument) -> None:
    with pytest.raises(ValueError, match=argument):
        TrainOnKubernetesOperator(
            task_id="t", data_path="/d.csv", training_params={}, **{argument: [object()]}
        )


def test_bad_params_fail_before_the_pod_is_created(k8s_task, tmp_path, task_context) -> None:
    data = tmp_path / "d.csv"
    data.write_text("x,y\n")
    k8s_task.data_path, k8s_task.training_params = str(data), {"label": "y", "dropout": 2}
    k8s_task.output_dir = str(tmp_path / "out")
    with pytest.raises(TrainingPodError, match="dropout"):
        k8s_task.plan_pod(task_context(task=k8s_task))
    assert k8s_task.pod_template_dict is None
