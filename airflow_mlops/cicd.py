"""Level 2, CI/CD of the pipeline itself: build the training image, test it, publish it.

:class:`CICDConfig` describes a level-2 pipeline and :func:`plan_cicd_pipeline` plans its tasks
as plain data, which :func:`airflow_mlops.operators.pipeline.build_cicd_dag` instantiates; the
operators of :mod:`airflow_mlops.operators.cicd` call the plain functions below over the docker
CLI (no Airflow import). ``operators/training.py`` reads the deployed reference from the Airflow
Variable ``mlops_training_image``.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from airflow_mlops.ct.config import CTPipelineConfig, DatasetSpec, ModelSpec
from airflow_mlops.ct.plan import OPERATORS, TaskSpec, xcom
from airflow_mlops.errors import ConfigError, ServiceError, TrainingError
from airflow_mlops.inputs import (
    check_choice,
    check_image,
    check_int,
    check_markdown,
    check_name,
    check_path,
    check_rev,
    check_tags,
    check_text,
    fail,
    rule,
)
from airflow_mlops.training.container import DATA_MOUNT, OUTPUT_MOUNT
from airflow_mlops.training.image import DOCKERFILE
from airflow_mlops.training.selftest import CHECKS
from airflow_mlops.variables import DEFAULT_BASE_IMAGE

#: the image's non-root user (see airflow_mlops/docker/Dockerfile)
IMAGE_USER = "1000:1000"
#: the package that ships the image's Dockerfile as package data
DOCKER_PACKAGE = "airflow_mlops.docker"
BACKENDS = ("docker", "local")

PULL_SAMPLE = "pull_sample"
BUILD = "build_image"
TEST = "test_in_image"
PARITY = "onnx_parity_of_smoke_model"
PUBLISH = "publish"
DEPLOY = "deploy"
RUN_CT = "run_ct"
TRIGGER_OPERATOR = "airflow.providers.standard.operators.trigger_dagrun.TriggerDagRunOperator"


@dataclass(frozen=True)
class CICDConfig:
    """Everything the DAG factory needs to build a level-2 DAG: build the training image, test
    the pipeline inside it on a sample, publish and deploy it, then run CT with it.

    :param dag_id: the DAG id.
    :param dataset: the data the self-test trains on (its ``label`` names the label column).
    :param sample_rev: the revision of ``dataset`` the self-test pulls (a known-good version).
    :param ct_dag_id: the CT DAG run with the deployed image; None = run none.
    :param backend: ``docker`` (default); ``local`` builds no image and runs the self-test in
        the worker's environment (machines without Docker).
    :param base_image: the image's base (a CUDA PyTorch runtime in production); None reads the
        Airflow Variable ``mlops_base_image``.
    :param source_root: the source tree the image is built from (holds ``pyproject.toml``,
        ``constraints.txt`` and the package sources); None = the tree the package is installed
        from (see :func:`source_root`).
    :param aws_conn_id: the AWS connection used to log in to ECR when the Variable
        ``mlops_ecr_repository`` names a repository.
    :param model: the pipeline's model spec; when it names the user's code (package, wheel or
        requirements), the image deployed is a user image built FROM the library image with
        that code installed (:func:`airflow_mlops.training.image.build_user_image`).
    :param pipeline_repo: the pipeline repository the model spec's paths start from; None =
        the git work tree of the DAG file.
    :param retries: how often a failed task is retried.
    :param retry_delay_s: seconds between a task's failure and its retry.
    """

    dag_id: str
    dataset: DatasetSpec
    sample_rev: str
    ct_dag_id: str | None = None
    backend: str = "docker"
    base_image: str | None = None
    source_root: str | None = None
    aws_conn_id: str = "aws_default"
    model: ModelSpec | None = None
    pipeline_repo: str | None = None
    owner: str = "mlops"
    tags: tuple[str, ...] = ("mlops",)
    retries: int = 1
    retry_delay_s: int = 30
    doc_md: str | None = None

    def __post_init__(self) -> None:
        if isinstance(self.tags, list):
            object.__setattr__(self, "tags", tuple(self.tags))
        rules: dict[str, Callable[[str, Any], Any]] = {
            "dag_id": check_name,
            "sample_rev": check_rev,
            "ct_dag_id": rule(check_name, allow_none=True),
            "backend": rule(check_choice, BACKENDS),
            "base_image": rule(check_image, allow_none=True),
            "source_root": rule(check_path, allow_none=True),
            "aws_conn_id": check_name,
            "pipeline_repo": rule(check_path, allow_none=True),
            "owner": rule(check_text, max_length=256),
            "tags": check_tags,
            "retries": rule(check_int, 0, 10),
            "retry_delay_s": rule(check_int, 1, 86_400),
            "doc_md": rule(check_markdown, allow_none=True),
        }
        problems = [] if isinstance(self.dataset, DatasetSpec) else [
            fail("dataset", self.dataset, "must be a DatasetSpec").message.rstrip(".")
        ]  # fmt: skip
        if self.model is not None and not isinstance(self.model, ModelSpec):
            problems.append(fail("model", self.model, "must be a ModelSpec").message.rstrip("."))
        for name, check in rules.items():
            try:
                check(name, getattr(self, name))
            except ConfigError as error:
                problems.append(error.message.rstrip("."))
        if problems:
            raise ConfigError(
                f"CICDConfig has {len(problems)} problem(s): {'; '.join(problems)}.",
                hint="Fix each field named above (each shows the bad value and the rule).",
                details={"problems": problems},
            )

    @classmethod
    def for_pipeline(cls, pipeline: CTPipelineConfig, dag_id: str, **overrides: Any) -> CICDConfig:
        """The level-2 config that deploys images for the CT ``pipeline``: its dataset, its
        reference version as the self-test's sample (else its default revision), its backend
        (``local`` stays local, any other builds an image), its model code (built into a user
        image), and a run of its DAG at the end."""
        settings: dict[str, Any] = {
            "dataset": pipeline.dataset,
            "sample_rev": pipeline.validation_reference_rev or pipeline.dataset.default_rev,
            "ct_dag_id": pipeline.dag_id,
            "backend": "local" if pipeline.backend == "local" else "docker",
            "model": pipeline.model,
            "pipeline_repo": pipeline.pipeline_repo,
            "owner": pipeline.owner,
            "retries": pipeline.retries,
            "retry_delay_s": pipeline.retry_delay_s,
        }
        return cls(dag_id=dag_id, **{**settings, **overrides})


def plan_cicd_pipeline(config: CICDConfig) -> list[TaskSpec]:
    """The tasks of one level-2 run, in dependency order: nothing is published before every
    test passed, nothing deployed before it is published."""
    data = config.dataset
    sample = xcom(PULL_SAMPLE, "targets", 0, "local_path")
    tasks = [
        TaskSpec(
            PULL_SAMPLE,
            f"{OPERATORS}.data.DvcPullOperator",
            args={
                "registry": data.registry,
                "targets": [data.path],
                "rev": config.sample_rev,
                "aws_conn_id": data.remote_aws_conn_id,
            },
        ),
        TaskSpec(
            BUILD,
            f"{OPERATORS}.cicd.BuildTrainingImageOperator",
            args={
                "backend": config.backend,
                "base_image": config.base_image,
                "source_root": config.source_root,
                "model": config.model,
                "pipeline_repo": config.pipeline_repo,
            },
        ),
        TaskSpec(
            TEST,
            f"{OPERATORS}.cicd.TestTrainingImageOperator",
            (BUILD, PULL_SAMPLE),
            {
                "image": xcom(BUILD, "image"),
                "data_path": sample,
                "label_column": data.label,
                # the user's model, columns and task: the checks test their pipeline
                "training_params": {
                    **data.training_params(),
                    **(config.model.training_params() if config.model else {}),
                },
            },
        ),
        TaskSpec(
            PARITY,
            f"{OPERATORS}.export.ExportOnnxOperator",
            (TEST,),
            {"checkpoint_uri": xcom(TEST, "smoke_checkpoint"), "sample_uri": sample},
        ),
        TaskSpec(
            PUBLISH,
            f"{OPERATORS}.cicd.PublishTrainingImageOperator",
            (BUILD, PARITY),
            {"image": xcom(BUILD, "image"), "aws_conn_id": config.aws_conn_id},
        ),
        TaskSpec(
            DEPLOY,
            f"{OPERATORS}.cicd.DeployTrainingImageOperator",
            (PUBLISH,),
            {"image": xcom(PUBLISH)},
        ),
    ]
    if config.ct_dag_id:
        tasks.append(
            TaskSpec(
                RUN_CT,
                TRIGGER_OPERATOR,
                (DEPLOY,),
                {"trigger_dag_id": config.ct_dag_id, "conf": {"trigger": "manual"}},
            )
        )
    return tasks


def source_root(configured: str | Path | None = None) -> Path:
    """The source tree the training image is built from: ``configured``, else the tree that
    holds the installed package's Dockerfile (``airflow_mlops/docker/``; an editable install
    or a checkout on the path), found through :mod:`importlib.resources`.

    :raises ConfigError: when that tree lacks what a build needs (a wheel install ships the
        Dockerfile but not ``pyproject.toml`` and ``constraints.txt``).
    """
    if configured is not None:
        root = Path(configured)
        where = f"source_root {str(configured)!r}"
    else:
        # a namespace package: its files() is a MultiplexedPath, a file in it a plain path
        root = Path(str(resources.files(DOCKER_PACKAGE).joinpath("Dockerfile"))).parents[2]
        where = f"the tree the installed package comes from ({root})"
    missing = [
        name
        for name in ("pyproject.toml", "constraints.txt", DOCKERFILE)
        if not (root / name).is_file()
    ]
    if missing:
        raise ConfigError(
            f"Cannot build the training image from {where}: it lacks {', '.join(missing)}.",
            hint="Set CICDConfig.source_root to a checkout of the pipeline's source tree.",
        )
    return root.resolve()


#: the default base of the training image where the engine can pull it
OFFICIAL_BASE_IMAGE = "python:3.11-slim"
#: the base built without a registry (debootstrap; ``make docker-base``) where it cannot
FALLBACK_BASE_IMAGE = DEFAULT_BASE_IMAGE
PULL_TIMEOUT_S = 300


def _docker_ok(*args: str, timeout: float = 60) -> tuple[bool, str]:
    try:
        done = subprocess.run(
            ["docker", *args], capture_output=True, text=True, check=False, timeout=timeout
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        return False, str(error)
    return done.returncode == 0, done.stderr.strip()


def choose_base_image(
    requested: str | None, docker: Callable[..., tuple[bool, str]] = _docker_ok
) -> str:
    """The training image's base: ``requested`` when given; else the official slim Python image
    (already on the engine, or pulled), else, where no registry is reachable, the local
    debootstrap base.

    :param docker: runs ``docker <args>`` and returns (succeeded, stderr); for tests.
    :raises ServiceError: neither can be had, naming how to build the fallback.
    """
    if requested:
        return requested
    if docker("image", "inspect", OFFICIAL_BASE_IMAGE)[0]:
        return OFFICIAL_BASE_IMAGE
    pulled, why = docker("pull", OFFICIAL_BASE_IMAGE, timeout=PULL_TIMEOUT_S)
    if pulled:
        return OFFICIAL_BASE_IMAGE
    if docker("image", "inspect", FALLBACK_BASE_IMAGE)[0]:
        return FALLBACK_BASE_IMAGE
    raise ServiceError(
        f"No base for the training image: {OFFICIAL_BASE_IMAGE} cannot be pulled "
        f"({why.splitlines()[-1][:200] if why else 'no answer'}) and {FALLBACK_BASE_IMAGE} is "
        "not on this Docker engine.",
        hint="Build the local base without a registry: `make docker-base` (scripts/"
        "ensure-docker.sh, as root), or set the Variable mlops_base_image to an image the "
        "engine has.",
    )


#: the checks run in the training image, which holds torch but not onnx/onnxruntime: the ONNX
#: export of the smoke checkpoint (its files and parity) is the next task, in the worker
IMAGE_CHECKS = tuple(name for name in CHECKS if name not in ("writes_artifacts", "onnx_parity"))
#: the pytest plugin's test of a check is ``test_pipeline_<check>``
TEST_PREFIX = "test_pipeline_"
#: pytest's JUnit XML report of the pipeline tests, in the output folder
JUNIT_REPORT = "pipeline-tests.xml"

#: what an image whose airflow-mlops predates the pipeline tests prints when asked to run them
STALE_IMAGE_SIGNS = (
    "No module named pytest",
    "module or package not found: airflow_mlops.pytest_plugin",
    "error: unrecognized arguments: --mlops",
)


def pipeline_tests_command(
    image: str | None, data: Path, label: str, output: Path, params: Mapping[str, Any] | None = None
) -> list[str]:
    """The pytest command that runs the plugin's pipeline tests (:mod:`airflow_mlops.
    pytest_plugin`): in ``image`` locked down as training is, or in this environment if None.

    :param params: the pipeline's TrainingConfig fields (its model factory, columns, task).
    """
    skipped = [name for name in CHECKS if name not in IMAGE_CHECKS]
    in_image = image is not None
    data_arg = f"{DATA_MOUNT}/{data.name}" if in_image else str(data)
    output_arg = OUTPUT_MOUNT if in_image else str(output)
    pytest_args = [
        "-m", "pytest", "-p", "no:cacheprovider", "-q", "-rfE", "--tb=short",
        "--pyargs", "airflow_mlops.pytest_plugin",
        "--mlops-data", data_arg, "--mlops-output", output_arg, "--mlops-rows", "256",
        "--mlops-params", json.dumps({**(params or {}), "label": label}, sort_keys=True),
        "-k", " and ".join(f"not {TEST_PREFIX}{name}" for name in skipped),
        "--junitxml", f"{output_arg}/{JUNIT_REPORT}",
    ]  # fmt: skip
    if not in_image:
        return [sys.executable, *pytest_args]
    return [
        "docker", "run", "--rm", "--network", "none", "--read-only", "--user", IMAGE_USER,
        "--tmpfs", "/tmp:rw,size=512m", "--memory", "2g",
        "-v", f"{data.parent}:{DATA_MOUNT}:ro", "-v", f"{output}:{OUTPUT_MOUNT}:rw",
        "--entrypoint", "python", image, *pytest_args,
    ]  # fmt: skip


def read_junit_checks(report: Path) -> list[dict[str, Any]]:
    """The checks in pytest's JUnit XML ``report``, in run order: ``{"name", "passed",
    "detail"}`` with the failure's message as ``detail["error"]``; [] without a report."""
    import xml.etree.ElementTree as ET

    if not report.is_file():
        return []
    checks = []
    for case in ET.parse(report).getroot().iter("testcase"):
        name = case.get("name", "")
        if name.startswith(TEST_PREFIX):
            problems = [*case.iter("failure"), *case.iter("error")]
            detail = {"error": problems[0].get("message") or problems[0].text} if problems else {}
            checks.append({"name": name.removeprefix(TEST_PREFIX), "passed": not problems,
                           "detail": detail})  # fmt: skip
    return checks


def run_pipeline_tests(
    image: str | None,
    data: str | Path,
    label: str,
    output: str | Path,
    params: Mapping[str, Any] | None = None,
) -> dict:
    """Run the pytest plugin's pipeline tests on ``data`` (:class:`~airflow_mlops.training.
    selftest.PipelineChecks`) and return their report; :class:`TrainingError` if one fails or
    the image cannot run them."""
    out = Path(output)
    out.mkdir(parents=True, exist_ok=True)
    out.chmod(0o777)  # the image's user must be able to write here
    command = pipeline_tests_command(image, Path(data).resolve(), label, out, params)
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    print(result.stdout[-6000:], result.stderr[-3000:], sep="\n", flush=True)
    said = result.stdout + result.stderr
    if any(sign in said for sign in STALE_IMAGE_SIGNS):
        raise TrainingError(
            f"{image or 'The local environment'} cannot run the pipeline tests: it lacks pytest "
            "or airflow-mlops's pytest plugin of this version "
            f"({said.strip().splitlines()[-1][:300]}).",
            hint="Rebuild the training image from this airflow-mlops (docker/build.sh, or "
            "`airflow-mlops build-image --config ...` for the user image), or install "
            "airflow-mlops of this version (it depends on pytest) there; no training ran.",
        )
    checks = read_junit_checks(out / JUNIT_REPORT)
    failed = [c for c in checks if not c["passed"]]
    if result.returncode != 0 or failed or not checks:
        why = "\n".join(c["detail"]["error"][-600:] for c in failed) or said[-1500:]
        raise TrainingError(
            f"The pipeline tests failed in {image or 'the local environment'}: "
            f"{', '.join(c['name'] for c in failed) or f'pytest exit code {result.returncode}'}."
            f"\n{why}",
            hint="Fix the training code or image; the image is not deployed.",
            details={"checks": checks},
        )
    return {"image": image, "checks": checks, "output": str(out)}


def publish_image(image: str, repository: str | None, auth: dict[str, str] | None) -> str:
    """Push ``image`` to ``repository`` (e.g. an ECR repository URI) and return the pushed
    reference pinned by digest; with no repository, return ``image`` (the local engine)."""
    if not repository:
        return image
    target = f"{repository}:{image.rsplit(':', 1)[-1]}"
    if auth:
        login = subprocess.run(
            ["docker", "login", "--username", auth["username"], "--password-stdin",
             auth["registry"]],
            input=auth["password"], capture_output=True, text=True, check=False,
        )  # fmt: skip
        if login.returncode != 0:
            raise ServiceError(
                f"docker login to {auth['registry']} failed: {login.stderr.strip()[:300]}",
                hint="Check the AWS connection's permissions (ecr:GetAuthorizationToken).",
            )
    for command in (["docker", "tag", image, target], ["docker", "push", target]):
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise ServiceError(
                f"`{' '.join(command)}` failed: {done.stderr.strip()[:500]}",
                hint="Check that the repository exists and the engine can reach it.",
            )
    inspect = subprocess.run(
        ["docker", "image", "inspect", "--format", "{{json .RepoDigests}}", target],
        capture_output=True,
        text=True,
        check=True,
    )
    digests: list[str] = json.loads(inspect.stdout)
    return next((d for d in digests if d.startswith(repository)), target)


def image_summary(built: Any) -> dict[str, Any]:
    """The XCom of a build: tag, image id, whether it was built, seconds."""
    return {
        "image": built.tag,
        "image_id": built.image_id,
        "built": built.built,
        "seconds": built.seconds,
        "base_image": built.base_image,
    }
