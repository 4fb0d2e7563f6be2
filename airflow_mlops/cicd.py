"""Level 2, CI/CD of the pipeline itself: build the training image, test it, publish it.

Plain functions over the docker CLI (no Airflow import); ``dags/mlops_level2_cicd.py`` composes
them, and ``operators/training.py`` reads the published reference from the Airflow Variable
``mlops_training_image``.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from airflow_mlops.errors import ServiceError, TrainingError
from airflow_mlops.training.container import DATA_MOUNT, OUTPUT_MOUNT
from airflow_mlops.training.selftest import REPORT

#: the image's non-root user (see docker/Dockerfile)
IMAGE_USER = "1000:1000"


def selftest_command(image: str | None, data: Path, label: str, output: Path) -> list[str]:
    """The command that runs the self-test: in ``image`` locked down, or locally if None."""
    args = ["--label", label, "--rows", "256"]
    if image is None:
        return [sys.executable, "-m", "airflow_mlops.training.selftest", "--data", str(data),
                "--output", str(output), *args]  # fmt: skip
    return [
        "docker", "run", "--rm", "--network", "none", "--read-only", "--user", IMAGE_USER,
        "--tmpfs", "/tmp:rw,size=512m", "--memory", "2g",
        "-v", f"{data.parent}:{DATA_MOUNT}:ro", "-v", f"{output}:{OUTPUT_MOUNT}:rw",
        "--entrypoint", "python", image, "-m", "airflow_mlops.training.selftest",
        "--data", f"{DATA_MOUNT}/{data.name}", "--output", OUTPUT_MOUNT, *args,
    ]  # fmt: skip


def run_selftest(image: str | None, data: str | Path, label: str, output: str | Path) -> dict:
    """Run the pipeline self-test and return its report; :class:`TrainingError` if it fails."""
    out = Path(output)
    out.mkdir(parents=True, exist_ok=True)
    out.chmod(0o777)  # the image's user must be able to write here
    command = selftest_command(image, Path(data).resolve(), label, out)
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    print(result.stdout, result.stderr[-3000:], sep="\n", flush=True)
    report_path = out / REPORT
    checks = json.loads(report_path.read_text()) if report_path.exists() else []
    failed = [c["name"] for c in checks if not c["passed"]]
    if result.returncode != 0 or failed or not checks:
        raise TrainingError(
            f"The pipeline self-test failed in {image or 'the local environment'}: "
            f"{', '.join(failed) or f'exit code {result.returncode}'}.\n{result.stderr[-1500:]}",
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
