"""TrainOnKubernetesOperator: the training entrypoint as a locked-down pod (cncf-kubernetes)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator

from airflow_mlops.errors import ConfigError, MlopsError
from airflow_mlops.operators.artifacts import context_artifact_dir
from airflow_mlops.operators.exceptions import MlopsTaskError
from airflow_mlops.training.container import (
    GPU_MODES,
    KubernetesTraining,
    kubernetes_pod_spec,
    prepare_output,
    read_result,
)
from airflow_mlops.variables import DEFAULT_TRAINING_IMAGE, TRAINING_IMAGE_VARIABLE

if TYPE_CHECKING:
    from airflow.sdk import Context

#: KubernetesPodOperator arguments that would put secrets into the pod or undo its lockdown
REFUSED = (
    "secrets",
    "env_from",
    "configmaps",
    "container_security_context",
    "security_context",
    "hostnetwork",
    "full_pod_spec",
    "pod_template_file",
    "pod_template_dict",
)


class TrainingPodError(MlopsTaskError):
    """The training pod could not be planned or did not produce a result."""


class TrainOnKubernetesOperator(KubernetesPodOperator):
    """Train a model with ``python -m airflow_mlops.training`` in a pod (``backend="kubernetes"``).

    The pod is :func:`~airflow_mlops.training.container.kubernetes_pod_spec` for ``kubernetes``:
    the GPU resource limit, node selector and tolerations of the config; the same lockdown as
    the Docker backend (non-root, read-only root filesystem, no capabilities or privilege
    escalation, no service-account token, CPU and memory limits, no secrets in the environment:
    the arguments that would add any are refused). Kubernetes ends the pod after
    ``train_timeout`` (``activeDeadlineSeconds``). The result is read from the output directory,
    which must be the storage behind ``kubernetes.output_claim`` as the worker sees it (or a host
    path on the node), never through the XCom sidecar. Returns to XCom ``{"checkpoint_uri",
    "metrics", "image_digest", "device", "backend"}`` like the Docker backend.

    :param data_path: the data file (its directory is the data volume). (templated)
    :param training_params: :class:`~airflow_mlops.training.config.TrainingConfig` fields,
        validated before the pod is created. (templated)
    :param output_dir: the output directory; default under the artifact root. (templated)
    :param image: the training image; default the Airflow Variable ``mlops_training_image``.
    :param gpu: ``"auto"`` or ``"required"`` request ``kubernetes.gpus`` GPUs, ``"none"`` none.
    :param kubernetes: the pod's namespace, GPU resource, placement, claims and limits.
    :param backend: ``"kubernetes"`` (what the factory's plan passes; anything else is refused).
    :param train_timeout: the pod's deadline, seconds or a timedelta.
    """

    template_fields: Sequence[str] = (
        *KubernetesPodOperator.template_fields,
        "data_path",
        "training_params",
        "output_dir",
    )
    template_fields_renderers = {"training_params": "json"}
    ui_color = "#f0a04b"

    def __init__(
        self,
        *,
        data_path: str,
        training_params: dict[str, Any],
        output_dir: str | None = None,
        image: str | None = None,
        gpu: str = "auto",
        kubernetes: KubernetesTraining | None = None,
        backend: str = "kubernetes",
        train_timeout: float | timedelta = timedelta(hours=2),
        **kwargs: Any,
    ) -> None:
        refused = sorted(name for name in REFUSED if kwargs.get(name))
        if refused:
            raise ValueError(
                f"{', '.join(refused)}: the training pod is built from `kubernetes` "
                "(KubernetesTraining) with its lockdown; it gets no secrets and no other spec."
            )
        if backend != "kubernetes":
            raise ValueError(f"backend={backend!r}: this operator trains on Kubernetes only.")
        if gpu not in GPU_MODES:
            raise ValueError(f"gpu={gpu!r} is not one of {', '.join(GPU_MODES)}.")
        self.kubernetes = kubernetes or KubernetesTraining()
        if isinstance(train_timeout, timedelta):
            train_timeout = train_timeout.total_seconds()
        super().__init__(
            image=image
            or f"{{{{ var.value.get('{TRAINING_IMAGE_VARIABLE}', '{DEFAULT_TRAINING_IMAGE}') }}}}",
            namespace=self.kubernetes.namespace,
            get_logs=True,
            on_finish_action="delete_pod",
            automount_service_account_token=False,
            active_deadline_seconds=int(train_timeout),
            **kwargs,
        )
        self.data_path = data_path
        self.training_params = training_params
        self.output_dir = output_dir
        self.gpu = gpu

    def plan_pod(self, context: Context) -> Path:
        """Check the rendered arguments, set the pod template and return the output directory."""
        data = Path(str(self.data_path))
        if not data.is_file():
            raise TrainingPodError(
                f"data_path {str(self.data_path)!r} is not a local file.\nWhat to do: pass the "
                "file that the DVC pull task wrote, on a volume the training pod mounts too."
            )
        from airflow_mlops.training.config import TrainingConfig  # not needed at DAG parse

        try:
            params = TrainingConfig.from_dict(dict(self.training_params)).to_dict()
        except MlopsError as error:
            raise TrainingPodError.from_core(error) from error
        output = prepare_output(self.output_dir or context_artifact_dir(context, "training"))
        try:
            self.pod_template_dict = kubernetes_pod_spec(
                image=self.image,
                data_path=str(data.resolve()),
                output_path=str(output),
                params=params,
                gpu=self.gpu,
                name=self.task_id.replace("_", "-"),
                placement=self.kubernetes,
            )
        except ConfigError as error:
            raise TrainingPodError.from_core(error) from error
        return output

    def execute(self, context: Context) -> dict[str, Any]:
        output = self.plan_pod(context)
        # the result comes from the output volume: no XCom sidecar (it needs a writable root)
        push, self.do_xcom_push = self.do_xcom_push, False
        try:
            super().execute(context)
        finally:
            self.do_xcom_push = push
        return {**read_result(output), "image_digest": None, "backend": "kubernetes"}
