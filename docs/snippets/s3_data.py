from airflow_mlops.operators.data import DvcPullOperator
from airflow_mlops.operators.export import ExportOnnxOperator

# The DVC registry stays a git repository; its data lives in S3. Credentials, region and
# endpoint come from the Airflow AWS connection and reach DVC in memory only.
pull = DvcPullOperator(
    task_id="pull",
    registry="https://github.com/acme/data-registry.git",
    targets=["data/cancer.csv"],
    rev="{{ params.data_rev }}",
    remote_url="s3://acme-mlops/dvc-store",
    aws_conn_id="aws_default",
)

# Exports go straight to S3 through Airflow's ObjectStoragePath.
export = ExportOnnxOperator(
    task_id="export_onnx",
    checkpoint_uri="{{ ti.xcom_pull('train')['checkpoint_uri'] }}",
    output_uri="s3://acme-mlops/onnx/{{ dag.dag_id }}/{{ run_id }}",
    conn_id="aws_default",
)
