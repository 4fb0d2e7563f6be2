"""The embedded defaults of the shipped DAGs: the demo dataset in the local data registry.

Everything is read from ``AIRFLOW_MLOPS_HOME`` (see :class:`~airflow_mlops.settings.MlopsHome`),
so the same DAG files run in the demo, in the tests and on a user's machine after
``airflow-mlops bootstrap-data``. ``AIRFLOW_MLOPS_TRAINING_BACKEND=local`` trains in a
subprocess where no Docker engine runs.
"""

from __future__ import annotations

import os

from airflow_mlops.ct.config import CTPipelineConfig, DatasetSpec
from airflow_mlops.ct.triggers import TriggerPolicy
from airflow_mlops.local.demo.dataset import LABEL, SEGMENT
from airflow_mlops.local.demo.registry import DATASET_PATH
from airflow_mlops.settings import MlopsHome

MODEL_NAME = "cancer-mlp"
DATASET_NAME = "cancer"
BACKEND_ENV = "AIRFLOW_MLOPS_TRAINING_BACKEND"
#: small and fast enough for the demo on two cores; the trigger form can raise them
DEMO_TRAINING = {"epochs": 40, "hidden_sizes": [32, 16], "batch_size": 32}


def demo_dataset() -> DatasetSpec:
    """The breast cancer dataset in the local demo registry (``main`` = the latest version)."""
    return DatasetSpec(
        name=DATASET_NAME,
        registry=str(MlopsHome.from_env().registry_repo),
        path=DATASET_PATH,
        label=LABEL,
        segment_column=SEGMENT,
        default_rev="main",
    )


def demo_pipeline(
    dag_id: str, triggers: TriggerPolicy, doc_md: str, **overrides
) -> CTPipelineConfig:
    """The demo CT pipeline under ``dag_id`` with the given trigger policy."""
    return CTPipelineConfig(
        dag_id=dag_id,
        model_name=MODEL_NAME,
        dataset=demo_dataset(),
        triggers=triggers,
        training_defaults=DEMO_TRAINING,
        backend=os.environ.get(BACKEND_ENV, "docker"),
        validation_reference_rev="v1",
        doc_md=doc_md,
        **overrides,
    )
