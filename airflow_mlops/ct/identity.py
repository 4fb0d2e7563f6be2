"""What a CT run's code is: the training image's content digest, the model code's fingerprint
and the pipeline repository's commit. All three enter the CT fingerprint and the lineage, so a
rebuilt image, a changed model factory or a new pipeline commit retrains."""

from __future__ import annotations

import subprocess
from pathlib import Path

from airflow_mlops.ct.config import CTPipelineConfig
from airflow_mlops.errors import ConfigError
from airflow_mlops.lineage import pipeline_git_sha
from airflow_mlops.training.code import image_content_digest, model_code_fingerprint


def pipeline_root(where: str | Path | None) -> Path:
    """The pipeline repository's root: the git work tree holding ``where`` (a DAG file or a
    directory), else ``where``'s directory; None = the current directory. Relative paths of
    the model spec (package, wheel, requirements) start here."""
    if where is None:
        return Path.cwd()
    path = Path(where)
    folder = path.parent if path.is_file() else path
    try:
        done = subprocess.run(
            ["git", "-C", str(folder), "rev-parse", "--show-toplevel"],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        )
    except (OSError, subprocess.SubprocessError):
        return folder
    return Path(done.stdout.strip())


def code_identity(
    config: CTPipelineConfig, image: str, *, dag_file: str | None = None
) -> dict[str, str]:
    """``{"image_digest", "model_code", "git_sha"}`` of a run of ``config`` with ``image``.

    :param image: the training image reference (``local:...`` for the local backend).
    :param dag_file: the DAG file, where the pipeline repository is found unless the config
        names it (``pipeline_repo``).
    :raises ConfigError: the model code cannot be identified, or a Docker image is neither
        present on this engine nor pinned by digest (a Kubernetes image falls back to its
        reference: pin it as ``name@sha256:...``).
    """
    where = config.pipeline_repo or dag_file
    try:
        digest = image_content_digest(image)
    except ConfigError:
        if config.backend != "kubernetes":
            raise
        digest = image  # the cluster pulls it, not this worker: unpinned, its tag is all we know
    return {
        "image_digest": digest,
        "model_code": model_code_fingerprint(config.model, root=pipeline_root(where)),
        "git_sha": pipeline_git_sha(where),
    }


def user_code_path(config: CTPipelineConfig, *, dag_file: str | None = None) -> list[str]:
    """The directories that make ``config.model.package_path`` importable without installing
    it (its ``src/`` when it has one), for the local backend's training process; [] when the
    config names no package path."""
    if not config.model.package_path:
        return []
    package = pipeline_root(config.pipeline_repo or dag_file) / config.model.package_path
    source = package / "src"
    return [str(source if source.is_dir() else package)]
