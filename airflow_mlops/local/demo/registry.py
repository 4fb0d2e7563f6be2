"""Create the demo data registry: a git repository whose dataset versions are tracked by DVC.

Versions (git tags), each pushed to a local-directory DVC remote:

``v1``         400 rows of the real breast cancer data
``v2``         all 569 rows (new data arrived)
``v3-drift``   v2 plus 300 rows whose distribution drifted (see :data:`~.demo.DRIFT_SHIFT`)
``v4-corrupt`` a broken delivery on the side branch ``corrupt-delivery``

Every version is the one file ``data/cancer.csv``; a pipeline pulls it by tag. ``main`` starts at
``v1``: :func:`publish_version` fast-forwards it to a later tag, which is how the demo makes "new
data arrive" for a sensor that watches ``refs/heads/main``.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from airflow_mlops.errors import DataError
from airflow_mlops.local.demo import dataset as demo

if TYPE_CHECKING:
    import pandas as pd

DATASET_PATH = "data/cancer.csv"
VERSIONS = ("v1", "v2", "v3-drift", "v4-corrupt")
_GIT_IDENTITY = {
    "GIT_AUTHOR_NAME": "airflow-mlops demo",
    "GIT_AUTHOR_EMAIL": "demo@airflow-mlops.invalid",
    "GIT_COMMITTER_NAME": "airflow-mlops demo",
    "GIT_COMMITTER_EMAIL": "demo@airflow-mlops.invalid",
}


@dataclass(frozen=True)
class DemoRegistry:
    """Where the bootstrapped registry lives and what it holds."""

    repo: Path
    remote: Path
    dataset_path: str = DATASET_PATH
    versions: tuple[str, ...] = VERSIONS


def run_tool(argv: list[str], cwd: Path) -> str:
    """Run git or dvc in ``cwd``; raise :class:`DataError` with its output if it fails."""
    env = {**os.environ, **_GIT_IDENTITY, "DVC_NO_ANALYTICS": "1"}
    result = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise DataError(
            f"`{' '.join(argv)}` failed in {cwd} (exit {result.returncode}):\n"
            f"{result.stdout[-2000:]}{result.stderr[-2000:]}",
            hint="Check that git and dvc work in this environment, then run bootstrap again.",
        )
    return result.stdout


def dvc_argv(*args: str) -> list[str]:
    """The command line that runs DVC with this interpreter."""
    return [sys.executable, "-m", "dvc", *args]


def bootstrap_registry(repo: Path, remote: Path, *, force: bool = False) -> DemoRegistry:
    """Create the registry at ``repo`` with its DVC remote at ``remote`` (idempotent).

    An existing registry with every version tag is kept as it is unless ``force``.
    """
    registry = DemoRegistry(repo=repo, remote=remote)
    if not force and _complete(registry):
        return registry
    if force or repo.exists():
        import shutil

        shutil.rmtree(repo, ignore_errors=True)
        shutil.rmtree(remote, ignore_errors=True)
    repo.mkdir(parents=True)
    remote.mkdir(parents=True, exist_ok=True)
    run_tool(["git", "init", "-q", "-b", "main"], repo)
    run_tool(dvc_argv("init", "-q"), repo)
    run_tool(dvc_argv("config", "core.analytics", "false"), repo)
    run_tool(dvc_argv("remote", "add", "-d", "local", str(remote)), repo)
    run_tool(["git", "add", "-A"], repo)
    run_tool(["git", "commit", "-q", "-m", "Initialise DVC data registry"], repo)

    full = demo.breast_cancer_frame()
    drifted = demo.with_drift(full.sample(n=300, random_state=1, replace=True))
    import pandas as pd

    _publish(registry, demo.version_v1(full), "v1", "Dataset v1: 400 rows")
    _publish(registry, full, "v2", "Dataset v2: all 569 rows")
    grown = pd.concat([full, drifted], ignore_index=True)
    _publish(registry, grown, "v3-drift", "Dataset v3: 300 new rows with drifted features")
    run_tool(["git", "checkout", "-q", "-b", "corrupt-delivery"], repo)
    _publish(registry, demo.corrupt_batch(full), "v4-corrupt", "Dataset v4: a corrupt delivery")
    run_tool(["git", "checkout", "-q", "main"], repo)
    run_tool(["git", "reset", "-q", "--hard", "v1"], repo)
    run_tool(dvc_argv("checkout", "-q"), repo)
    return registry


def publish_version(repo: Path, tag: str) -> str:
    """Fast-forward ``main`` of the registry to ``tag`` (new data arrives); returns the commit."""
    run_tool(["git", "checkout", "-q", "main"], repo)
    run_tool(["git", "merge", "-q", "--ff-only", tag], repo)
    run_tool(dvc_argv("checkout", "-q"), repo)
    return run_tool(["git", "rev-parse", "HEAD"], repo).strip()


def _publish(registry: DemoRegistry, frame: pd.DataFrame, tag: str, message: str) -> None:
    target = registry.repo / registry.dataset_path
    target.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(target, index=False)
    run_tool(dvc_argv("add", "-q", registry.dataset_path), registry.repo)
    run_tool(["git", "add", "-A"], registry.repo)
    run_tool(["git", "commit", "-q", "-m", message], registry.repo)
    run_tool(["git", "tag", tag], registry.repo)
    run_tool(dvc_argv("push", "-q"), registry.repo)


def _complete(registry: DemoRegistry) -> bool:
    if not (registry.repo / ".dvc").is_dir() or not registry.remote.is_dir():
        return False
    try:
        tags = set(run_tool(["git", "tag"], registry.repo).split())
    except DataError:
        return False
    return set(registry.versions) <= tags
