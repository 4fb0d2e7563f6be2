# ruff: noqa: E402  (the page shows the pod and the task as two blocks of one DAG file)
# --8<-- [start:pod]
from airflow_mlops.training.container import kubernetes_pod_spec

# The training entrypoint as a pod: one NVIDIA GPU (a limit, so it only lands on GPU nodes),
# data read-only from one claim, the checkpoint written to another, non-root, no privileges.
TRAINING_POD = kubernetes_pod_spec(
    image="123456789012.dkr.ecr.eu-west-1.amazonaws.com/airflow-mlops-train:latest",
    data_path="/datasets/cancer/v2/cancer.csv",
    output_path="/artifacts/training/cancer-mlp",
    params={"label": "malignant", "max_epochs": 50, "hidden_layers": [128, 64]},
    gpu="required",
    gpus=1,
    cpu="4",
    memory="16Gi",
    shm_size="2Gi",
    namespace="mlops",
    data_claim="mlops-datasets",
    output_claim="mlops-artifacts",
    service_account="mlops-training",
)
# --8<-- [end:pod]

# --8<-- [start:task]
import datetime as dt

from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator

train = KubernetesPodOperator(
    task_id="train",
    namespace="mlops",
    pod_template_dict=TRAINING_POD,
    # the image that level 2 tested and deployed (an ECR reference)
    image="{{ var.value.mlops_training_image }}",
    get_logs=True,
    on_finish_action="delete_pod",
    startup_timeout_seconds=900,
    execution_timeout=dt.timedelta(hours=2),
)
# --8<-- [end:task]
