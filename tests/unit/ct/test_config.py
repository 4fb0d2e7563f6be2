"""The DAG factory's config refuses bad values on creation, naming the field."""

from __future__ import annotations

import pytest

from airflow_mlops.ct.config import CTPipelineConfig, DatasetSpec
from airflow_mlops.errors import ConfigError


def dataset(**overrides) -> DatasetSpec:
    values = {
        "name": "cancer",
        "registry": "/data/registry",
        "path": "data/cancer.csv",
        "label": "malignant",
    }
    return DatasetSpec(**{**values, **overrides})


def test_a_valid_config_merges_param_defaults() -> None:
    config = CTPipelineConfig(
        dag_id="ct_cancer",
        model_name="cancer-mlp",
        dataset=dataset(default_rev="v2"),
        training_defaults={"epochs": 5},
    )
    defaults = config.param_defaults()
    assert defaults["epochs"] == 5
    assert defaults["data_rev"] == "v2"
    assert defaults["learning_rate"] == 0.003


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: dataset(name="1bad name"), "DatasetSpec.name"),
        (lambda: dataset(path="../outside.csv"), "DatasetSpec.path"),
        (lambda: dataset(path="/abs.csv"), "DatasetSpec.path"),
        (lambda: dataset(task="clustering"), "DatasetSpec.task"),
        (lambda: dataset(default_rev="--evil"), "DatasetSpec.default_rev"),
        (lambda: CTPipelineConfig(dag_id="x", model_name="m", dataset=dataset(), gpu="yes"), "gpu"),
        (
            lambda: CTPipelineConfig(dag_id="x", model_name="m", dataset=dataset(), backend="k8s"),
            "backend",
        ),
        (
            lambda: CTPipelineConfig(
                dag_id="x", model_name="m", dataset=dataset(), training_defaults={"epochz": 3}
            ),
            "training_defaults",
        ),
        (
            lambda: CTPipelineConfig(
                dag_id="x", model_name="m", dataset=dataset(), training_defaults={"epochs": -3}
            ),
            "epochs",
        ),
    ],
)
def test_bad_values_are_refused_on_creation(build, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        build()
