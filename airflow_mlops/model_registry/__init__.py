"""The MLflow model registry: versions, registration with lineage, champion/challenger gate.

MLflow is imported inside the functions, so importing this package stays cheap.
"""

from __future__ import annotations

from airflow_mlops.lineage import CHALLENGER, CHAMPION, PREVIOUS
from airflow_mlops.model_registry.client import (
    ModelVersionNotFoundError,
    ModelVersionRef,
    RegistryUnavailableError,
    download_onnx,
    resolve_model_version,
)

__all__ = [
    "CHALLENGER",
    "CHAMPION",
    "PREVIOUS",
    "ModelVersionNotFoundError",
    "ModelVersionRef",
    "RegistryUnavailableError",
    "download_onnx",
    "resolve_model_version",
]
