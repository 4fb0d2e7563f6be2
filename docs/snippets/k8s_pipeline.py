from airflow_mlops.ct.config import CTPipelineConfig, DatasetSpec
from airflow_mlops.operators.pipeline import build_ct_dag
from airflow_mlops.training.container import KubernetesTraining

CONFIG = CTPipelineConfig(
    dag_id="ct_churn",
    model_name="churn",
    dataset=DatasetSpec(
        name="churn",
        registry="https://github.com/acme/churn-data.git",
        path="data/churn.parquet",
        label="churned",
    ),
    backend="kubernetes",  # training is a KubernetesPodOperator
    gpu="required",
    kubernetes=KubernetesTraining(
        namespace="mlops",
        gpu_resource="nvidia.com/gpu",  # checked: a typo fails here, not as a pending pod
        gpus=1,
        cpu="8",
        memory="32Gi",
        shm_size="4Gi",
        node_selector={"node.kubernetes.io/instance-type": "g6.2xlarge"},
        tolerations=(
            {"key": "dedicated", "operator": "Equal", "value": "ml", "effect": "NoSchedule"},
        ),
        data_claim="mlops-artifacts",  # the workers' artifact root: DVC pulls the data there
        output_claim="mlops-artifacts",
        service_account="mlops-training",
    ),
)
dag = build_ct_dag(CONFIG)
