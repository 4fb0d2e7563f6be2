"""The MLflow model registry: versions, registration with lineage, champion/challenger gate.

MLflow is imported inside the functions, and each public name loads its module on first use
(:mod:`airflow_mlops.lazy`), so importing this package stays cheap at DAG parse time.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from airflow_mlops.lazy import lazy_exports

if TYPE_CHECKING:
    from airflow_mlops.lineage import CHALLENGER, CHAMPION, PREVIOUS
    from airflow_mlops.model_registry.client import (
        ModelVersionNotFoundError,
        ModelVersionRef,
        RegistryUnavailableError,
        download_onnx,
        resolve_model_version,
    )

#: public name -> the module that defines it
_HOMES = {
    "CHALLENGER": "airflow_mlops.lineage",
    "CHAMPION": "airflow_mlops.lineage",
    "PREVIOUS": "airflow_mlops.lineage",
    "ModelVersionNotFoundError": "client",
    "ModelVersionRef": "client",
    "RegistryUnavailableError": "client",
    "download_onnx": "client",
    "resolve_model_version": "client",
}

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

__getattr__, __dir__ = lazy_exports(__name__, _HOMES)
