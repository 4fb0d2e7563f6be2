"""The DAG factory's config refuses bad values on creation, naming the field."""

from __future__ import annotations

import pytest

from airflow_mlops.ct.config import (
    CTPipelineConfig,
    DatasetSpec,
    ModelSpec,
    gate_metric,
    resolve_reference_rev,
)
from airflow_mlops.errors import ConfigError
from airflow_mlops.lineage import DATA_COMMIT_TAG, DATA_REV_TAG
from airflow_mlops.training.config import TrainingConfig


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


def test_a_config_with_three_problems_reports_all_three_naming_each_field() -> None:
    with pytest.raises(ConfigError) as refused:
        CTPipelineConfig(
            dag_id="1 bad",
            model_name="m",
            dataset=dataset(),
            backend="k8s",
            retries=99,
        )
    message = str(refused.value)
    assert "3 problems" in message
    for name in ("dag_id='1 bad'", "backend='k8s'", "retries=99"):
        assert name in message
    assert len(refused.value.details["problems"]) == 3


def test_a_dataset_spec_lists_every_problem() -> None:
    with pytest.raises(ConfigError) as refused:
        dataset(
            task="clustering",
            id_column="malignant",
            feature_columns=["a", "a"],
            ignored_columns=["b"],
        )
    problems = refused.value.details["problems"]
    assert [p.split("=")[0] for p in problems] == [
        "DatasetSpec.task",
        "DatasetSpec.feature_columns",
        "DatasetSpec.id_column",
        "DatasetSpec.ignored_columns",
    ]


def test_dataset_columns_and_task_become_training_params() -> None:
    spec = dataset(
        label="label",
        task="multiclass",
        id_column="row_id",
        timestamp_column="ts",
        feature_columns=["x", "colour"],
        categorical_columns=["colour"],
    )
    assert spec.training_params() == {
        "label": "label",
        "task": "multiclass",
        "id_column": "row_id",
        "exclude_columns": ["ts"],
        "feature_columns": ["x", "colour"],
        "categorical_columns": ["colour"],
    }
    TrainingConfig.from_dict(spec.training_params())
    inferred = dataset(label="label", ignored_columns=["note"])
    assert inferred.training_params() == {
        "label": "label",
        "task": "auto",
        "exclude_columns": ["note"],
    }
    TrainingConfig.from_dict(inferred.training_params())


@pytest.mark.parametrize("task", [None, "binary", "multiclass", "regression", "classification"])
def test_tasks_and_the_older_classification_alias_are_accepted(task) -> None:
    assert dataset(task=task).task == task


def test_a_default_config_names_no_slices_no_reference_and_the_builtin_model() -> None:
    config = CTPipelineConfig(dag_id="ct", model_name="m", dataset=dataset())
    assert config.dataset.segment_column is None
    assert config.validation_reference_rev is None
    assert config.model == ModelSpec()
    assert config.training_params() == {"label": "malignant", "task": "auto"}


def test_model_spec_fields_are_checked_together() -> None:
    spec = ModelSpec(
        model_factory="my_models.nets:build",
        model_kwargs={"width": 8},
        package_path="models",
        requirements="models/requirements.txt",
    )
    assert spec.code_source == "models"
    assert spec.training_params() == {
        "model_factory": "my_models.nets:build",
        "model_kwargs": {"width": 8},
    }
    with pytest.raises(ConfigError) as refused:
        ModelSpec(
            model_factory="my_models.nets",
            model_kwargs={"when": object()},
            package_path="models",
            wheel="models.tar.gz",
        )
    problems = refused.value.details["problems"]
    assert [p.split("=")[0] for p in problems] == [
        "ModelSpec.model_factory",
        "ModelSpec.model_kwargs",
        "ModelSpec.wheel",
        "ModelSpec.wheel",
    ]
    with pytest.raises(ConfigError, match=r"ModelSpec\.model_factory=None: must name the factory"):
        ModelSpec(wheel="dist/models-1.0-py3-none-any.whl")


def test_kubernetes_backend_and_gate_metric_per_task() -> None:
    config = CTPipelineConfig(
        dag_id="ct",
        model_name="m",
        dataset=dataset(task="regression"),
        backend="kubernetes",
        gate={"metric": "mae"},
    )
    assert config.backend == "kubernetes"
    with pytest.raises(ConfigError, match=r"gate.metric='accuracy': a regression task gates on"):
        CTPipelineConfig(
            dag_id="ct",
            model_name="m",
            dataset=dataset(task="regression"),
            gate={"metric": "accuracy"},
        )


@pytest.mark.parametrize(
    ("task", "metric", "expected"),
    [
        ("binary", None, ("accuracy", "higher")),
        ("binary", "log_loss", ("log_loss", "lower")),
        ("multiclass", "f1", ("f1", "higher")),
        ("regression", None, ("rmse", "lower")),
        ("regression", "r2", ("r2", "higher")),
    ],
)
def test_gate_metric_and_direction(task, metric, expected) -> None:
    assert gate_metric(task, metric) == expected


def test_gate_metric_refuses_a_metric_of_another_task() -> None:
    with pytest.raises(ConfigError, match="multiclass task gates on"):
        gate_metric("multiclass", "roc_auc")


COMMIT = "a" * 40


@pytest.mark.parametrize(
    ("named", "tags", "versions", "expected"),
    [
        ("v7", {DATA_COMMIT_TAG: COMMIT}, ["v1"], "v7"),
        (None, {DATA_COMMIT_TAG: COMMIT, DATA_REV_TAG: "main"}, ["v1"], COMMIT),
        (None, {DATA_REV_TAG: "v3"}, ["v1", "v3"], "v3"),
        (None, None, ["2024-01", "2024-02"], "2024-01"),
        (None, {}, ["first"], "first"),
    ],
)
def test_the_validation_reference_is_the_champions_data_or_the_first_version(
    named, tags, versions, expected
) -> None:
    assert resolve_reference_rev(named, tags, versions) == expected


def test_no_reference_at_all_says_what_to_do() -> None:
    with pytest.raises(ConfigError, match="No validation reference") as refused:
        resolve_reference_rev(None, None, [])
    assert "validation_reference_rev" in refused.value.hint
