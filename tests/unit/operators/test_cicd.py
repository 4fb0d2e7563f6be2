"""The level-2 operators: cheap argument checks, and no image without Docker."""

from __future__ import annotations

import pytest

from airflow_mlops.errors import ConfigError
from airflow_mlops.operators.cicd import (
    BuildTrainingImageOperator,
    DeployTrainingImageOperator,
    TestTrainingImageOperator,
)


def test_the_local_backend_builds_no_image() -> None:
    operator = BuildTrainingImageOperator(task_id="build_image", backend="local")
    assert operator.execute({}) == {"image": None, "built": False}


@pytest.mark.parametrize(
    "make",
    [
        lambda: BuildTrainingImageOperator(task_id="b", backend="podman"),
        lambda: BuildTrainingImageOperator(task_id="b", base_image="--privileged"),
        lambda: TestTrainingImageOperator(
            task_id="t", image="x;rm", data_path="d", label_column="y"
        ),
        lambda: DeployTrainingImageOperator(task_id="d", image="Not An Image"),
    ],
)
def test_bad_literal_arguments_are_refused_when_the_dag_is_parsed(make) -> None:
    with pytest.raises(ConfigError, match=r"task_id="):
        make()


def test_templated_arguments_wait_for_rendering() -> None:
    template = "{{ ti.xcom_pull(task_ids='build_image')['image'] }}"
    operator = TestTrainingImageOperator(
        task_id="t", image=template, data_path="{{ x }}", label_column="y"
    )
    assert operator.image == template


def test_deploy_records_the_published_image_in_the_ct_variable(monkeypatch) -> None:
    from airflow_mlops.operators import cicd
    from airflow_mlops.variables import TRAINING_IMAGE_VARIABLE

    written: dict[str, str] = {}
    monkeypatch.setattr(cicd.Variable, "set", lambda key, value: written.update({key: value}))
    image = "registry:5000/team/train@sha256:" + "a" * 64
    operator = DeployTrainingImageOperator(task_id="deploy", image=image)
    assert operator.execute({}) == image
    assert written == {TRAINING_IMAGE_VARIABLE: image}
    assert DeployTrainingImageOperator(task_id="deploy", image=None).execute({}) is None
    assert len(written) == 1


def test_a_pipeline_with_model_code_deploys_a_user_image_built_from_the_library_image(
    monkeypatch, tmp_path, task_context
) -> None:
    from airflow_mlops.ct.config import ModelSpec
    from airflow_mlops.training import image
    from airflow_mlops.training.image import BuiltImage

    def library(root, *, base_image, log):
        return BuiltImage("airflow-mlops-train:lib", "sha256:lib", False, 0.0, base_image)

    def user(model, library_image, *, root, log):
        assert (model.package_path, library_image, root) == (
            "net",
            "airflow-mlops-train:lib",
            tmp_path,
        )
        return BuiltImage("airflow-mlops-train-user:u", "sha256:u", True, 1.0, library_image)

    monkeypatch.setattr(image, "build_image", library)
    monkeypatch.setattr(image, "build_user_image", user)
    model = ModelSpec(model_factory="net:make", package_path="net")
    operator = BuildTrainingImageOperator(
        task_id="build_image", base_image="base:1", model=model, pipeline_repo=str(tmp_path),
    )  # fmt: skip
    result = operator.execute(task_context(task=operator))
    assert (result["image"], result["base_image"]) == (
        "airflow-mlops-train-user:u",
        "airflow-mlops-train:lib",
    )
