"""Continuous training of our wine classifier: nightly, on new data, on drift, or by hand."""

import os

from airflow_mlops.ct.config import CTPipelineConfig, DatasetSpec, ModelSpec
from airflow_mlops.operators import pipeline

config = CTPipelineConfig(
    dag_id="wine_ct",
    model_name="wine-classifier",
    dataset=DatasetSpec(
        name="wine",
        registry=os.environ.get("WINE_REGISTRY", "https://git.example.com/data/wine.git"),
        path="data/wine.csv",
        label="cultivar",
        task="multiclass",
        id_column="sample_id",
    ),
    model=ModelSpec(model_factory="tabular_nets.nets:build_net", package_path="tabular_nets"),
    training_image="tabular-nets-train:0.1.0",
    training_defaults={"epochs": 15, "batch_size": 32},
)
ct = pipeline.build_ct_dag(config)
arrival = pipeline.build_data_arrival_dag(config)  # announces each new version of the data
monitoring = pipeline.build_monitoring_dag(config)  # scores batches, reports drift
