"""Where the local installation keeps its data: one home directory for every service.

``AIRFLOW_MLOPS_HOME`` (default ``./.airflow-mlops`` under the current directory) holds the Airflow
home, the MLflow store, the demo DVC registry and its remote, and the artifact root, so that
``airflow-mlops down`` plus deleting one folder resets everything.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

HOME_ENV = "AIRFLOW_MLOPS_HOME"
ARTIFACT_ROOT_ENV = "AIRFLOW_MLOPS_ARTIFACT_ROOT"


@dataclass(frozen=True)
class MlopsHome:
    """The directory layout of one local installation."""

    root: Path

    @classmethod
    def from_env(cls) -> MlopsHome:
        """The home named by ``AIRFLOW_MLOPS_HOME``, else ``.airflow-mlops`` in the cwd."""
        return cls(Path(os.environ.get(HOME_ENV, ".airflow-mlops")).resolve())

    @property
    def airflow_home(self) -> Path:
        return self.root / "airflow"

    @property
    def airflow_passwords(self) -> Path:
        """The local stack's Airflow login (``{"admin": "<generated password>"}``); outside
        the Airflow home, so a demo that resets Airflow keeps it."""
        return self.root / "airflow-passwords.json"

    @property
    def mlflow_dir(self) -> Path:
        return self.root / "mlflow"

    @property
    def registry_repo(self) -> Path:
        """The demo data registry: a git repository tracked by DVC."""
        return self.root / "data-registry"

    @property
    def dvc_remote(self) -> Path:
        """The DVC local-directory remote of the demo registry."""
        return self.root / "dvc-remote"

    @property
    def dvc_cache(self) -> Path:
        """A DVC cache shared by every workspace, so repeated pulls are near-instant."""
        return self.root / "dvc-cache"

    @property
    def workspaces(self) -> Path:
        return self.root / "workspaces"

    @property
    def artifacts(self) -> Path:
        return Path(os.environ.get(ARTIFACT_ROOT_ENV, self.root / "artifacts"))

    @property
    def inference_log(self) -> Path:
        """The default root of the inference log (batch scoring writes, monitoring reads)."""
        return self.artifacts / "inference_log"

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    @property
    def pids(self) -> Path:
        return self.root / "run"
