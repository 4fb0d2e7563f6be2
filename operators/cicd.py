"""Level-2 operators: build the training image, test the pipeline in it, publish it, deploy it.

Thin adapters over :mod:`airflow_mlops.cicd` and :mod:`airflow_mlops.training.image`; the
level-2 DAG factory (:func:`airflow_mlops.operators.pipeline.build_cicd_dag`) composes them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseOperator, Variable

from airflow_mlops.cicd import BACKENDS
from airflow_mlops.errors import MlopsError
from airflow_mlops.inputs import check_choice, check_image, check_name, check_path, rule
from airflow_mlops.operators.arguments import check_arguments
from airflow_mlops.operators.exceptions import MlopsTaskError
from airflow_mlops.variables import (
    BASE_IMAGE_VARIABLE,
    ECR_REPOSITORY_VARIABLE,
    TRAINING_IMAGE_VARIABLE,
)

if TYPE_CHECKING:
    from airflow.sdk import Context

    from airflow_mlops.ct.config import ModelSpec


class CICDTaskError(MlopsTaskError):
    """Building, testing or publishing the training image failed; ``details`` say which check."""


class BuildTrainingImageOperator(BaseOperator):
    """Build (or find, by its content-hash tag) the training image from the source tree.

    Returns ``{"image", "image_id", "built", "seconds", "base_image"}``; with the ``local``
    backend no image is built and ``image`` is None. When ``model`` names the user's code, the
    image returned is the user image built FROM the library image with that code installed
    (``base_image`` is then the library image).

    :param backend: ``docker``, or ``local`` to build nothing (machines without Docker).
    :param base_image: the image's base; None reads the Variable ``mlops_base_image``, else
        ``python:3.11-slim`` where the engine can pull it, else the local debootstrap base
        ``local/bookworm-py:base`` (see :func:`~airflow_mlops.cicd.choose_base_image`).
    :param source_root: the source tree to build from; None = the tree of the installed
        package's ``docker/`` files (see :func:`airflow_mlops.cicd.source_root`).
    :param model: the pipeline's model spec (:class:`~airflow_mlops.ct.config.ModelSpec`), or
        None.
    :param pipeline_repo: where the model spec's paths start; None = the git work tree of the
        DAG file.
    """

    ui_color = "#d8e8f8"
    argument_rules = {
        "backend": rule(check_choice, BACKENDS),
        "base_image": rule(check_image, allow_none=True),
        "source_root": rule(check_path, allow_none=True),
        "pipeline_repo": rule(check_path, allow_none=True),
    }

    def __init__(
        self,
        *,
        backend: str = "docker",
        base_image: str | None = None,
        source_root: str | None = None,
        model: ModelSpec | None = None,
        pipeline_repo: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.backend = backend
        self.base_image = base_image
        self.source_root = source_root
        self.model = model
        self.pipeline_repo = pipeline_repo
        check_arguments(self, self.argument_rules, rendered=False)

    def execute(self, context: Context) -> dict[str, Any]:
        if self.backend == "local":
            self.log.info("Local backend: no image to build; the self-test runs in place")
            return {"image": None, "built": False}
        from airflow_mlops.cicd import choose_base_image, image_summary, source_root
        from airflow_mlops.ct.identity import pipeline_root
        from airflow_mlops.training.image import build_image, build_user_image

        variable = Variable.get(BASE_IMAGE_VARIABLE, default=None)
        if variable:
            check_image(f"Variable {BASE_IMAGE_VARIABLE}", variable)
        try:
            base = choose_base_image(self.base_image or variable)
            self.log.info("base image: %s", base)
            built = build_image(source_root(self.source_root), base_image=base, log=self.log.info)
            if self.model is not None and (self.model.code_source or self.model.requirements):
                root = pipeline_root(self.pipeline_repo or context["dag"].fileloc)
                built = build_user_image(self.model, built.tag, root=root, log=self.log.info)
        except MlopsError as error:
            raise CICDTaskError.from_core(error) from error
        return image_summary(built)


class TestTrainingImageOperator(BaseOperator):
    """Run the pytest plugin's pipeline tests with pytest inside the image, locked down (no
    network, read-only data, non-root), on the pipeline's model (:class:`~airflow_mlops.
    training.selftest.PipelineChecks`: preprocessing round trip, forward shape, loss falls,
    few-record overfit, no NaN or inf; ONNX parity is the next task, in the worker). Fails the
    run, so CT never gets the image, if any test fails or the image cannot run them.

    Returns ``{"image", "checks", "output", "smoke_checkpoint"}``; the smoke checkpoint is what
    the ONNX parity task exports next.

    :param image: the image to test; None runs the self-test in the worker's environment.
        (templated)
    :param data_path: the local sample file the self-test trains on. (templated)
    :param label_column: the sample's label column.
    :param training_params: the pipeline's TrainingConfig fields (model factory and kwargs,
        columns, task), so the checks test its model; None = the built-in MLP on the label.
    """

    __test__ = False  # a pytest collector would take the "Test" prefix for a test class
    template_fields: Sequence[str] = ("image", "data_path")
    ui_color = "#d8e8f8"
    argument_rules = {
        "image": rule(check_image, allow_none=True),
        "data_path": check_path,
        "label_column": check_name,
    }

    def __init__(
        self,
        *,
        image: str | None,
        data_path: str,
        label_column: str,
        training_params: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.image = image
        self.data_path = data_path
        self.label_column = label_column
        self.training_params = training_params
        check_arguments(self, self.argument_rules, rendered=False)

    def execute(self, context: Context) -> dict[str, Any]:
        check_arguments(self, self.argument_rules, rendered=True)
        from airflow_mlops.cicd import run_pipeline_tests
        from airflow_mlops.settings import MlopsHome

        output = MlopsHome.from_env().artifacts / "cicd" / context["run_id"].replace(":", "_")
        try:
            report = run_pipeline_tests(
                self.image, self.data_path, self.label_column, output, self.training_params
            )
        except MlopsError as error:
            raise CICDTaskError.from_core(error) from error
        return {**report, "smoke_checkpoint": str(output / "smoke")}


class PublishTrainingImageOperator(BaseOperator):
    """Push the tested image to the repository in the Variable ``mlops_ecr_repository`` (e.g. an
    ECR URI; credentials from the AWS connection), else keep the local engine's image.

    Returns the reference to deploy (pinned by digest once pushed), or None without an image.

    :param image: the tested image; None (local backend) publishes nothing. (templated)
    :param aws_conn_id: the AWS connection used to log in to ECR.
    """

    template_fields: Sequence[str] = ("image",)
    ui_color = "#d8e8f8"
    argument_rules = {"image": rule(check_image, allow_none=True), "aws_conn_id": check_name}

    def __init__(
        self, *, image: str | None, aws_conn_id: str = "aws_default", **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.image = image
        self.aws_conn_id = aws_conn_id
        check_arguments(self, self.argument_rules, rendered=False)

    def execute(self, context: Context) -> str | None:
        check_arguments(self, self.argument_rules, rendered=True)
        if self.image is None:
            return None
        from airflow_mlops.cicd import publish_image

        repository = Variable.get(ECR_REPOSITORY_VARIABLE, default=None)
        try:
            return publish_image(self.image, repository, self.registry_auth(repository))
        except MlopsError as error:
            raise CICDTaskError.from_core(error) from error

    def registry_auth(self, repository: str | None) -> dict[str, str] | None:
        """The ``docker login`` credentials for ``repository``: ECR's temporary ones, or None
        without a repository. Override for another registry."""
        if not repository:
            return None
        from airflow.providers.amazon.aws.hooks.ecr import EcrHook

        (credentials,) = EcrHook(aws_conn_id=self.aws_conn_id).get_temporary_credentials(
            registry_ids=[repository.split(".", 1)[0]]
        )
        return {
            "username": credentials.username,
            "password": credentials.password,
            "registry": credentials.proxy_endpoint,
        }


class DeployTrainingImageOperator(BaseOperator):
    """Record the published image as the one the CT DAGs train with: the Variable
    ``mlops_training_image``, which their training task reads.

    Returns the deployed reference, or None when there was none (local backend).

    :param image: the published reference; None deploys nothing. (templated)
    """

    template_fields: Sequence[str] = ("image",)
    ui_color = "#d8e8f8"
    argument_rules = {"image": rule(check_image, allow_none=True)}

    def __init__(self, *, image: str | None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.image = image
        check_arguments(self, self.argument_rules, rendered=False)

    def execute(self, context: Context) -> str | None:
        check_arguments(self, self.argument_rules, rendered=True)
        if self.image:
            Variable.set(TRAINING_IMAGE_VARIABLE, self.image)
            self.log.info(
                "CT now trains with %s (Variable %s)", self.image, TRAINING_IMAGE_VARIABLE
            )
        return self.image
