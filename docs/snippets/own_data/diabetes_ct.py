"""Continuous training of a diabetes progression regressor, its data in S3, trained locally."""

import os

from airflow_mlops.ct.config import CTPipelineConfig, DatasetSpec, ModelSpec
from airflow_mlops.operators import pipeline

config = CTPipelineConfig(
    dag_id="diabetes_ct",
    model_name="diabetes-regressor",
    dataset=DatasetSpec(
        name="diabetes",
        registry=os.environ.get("DIABETES_REGISTRY", "https://git.example.com/data/diabetes.git"),
        path="data/diabetes.csv",
        label="progression",
        task="regression",
        id_column="patient_id",
        remote_aws_conn_id="dvc_s3",
    ),
    model=ModelSpec(
        model_factory="tabular_nets.nets:build_net",
        model_kwargs={"width": 64},
        package_path="tabular_nets",
    ),
    backend="local",
    training_defaults={"epochs": 30, "batch_size": 32},
)
ct = pipeline.build_ct_dag(config)
arrival = pipeline.build_data_arrival_dag(config)  # announces each new version of the data
monitoring = pipeline.build_monitoring_dag(config)  # scores batches, reports drift
