"""Airflow hooks: connections to the MLflow tracking server and the DVC remote.

The public classes import from here (``from airflow_mlops.hooks import MlflowHook``); each
loads its module on first use, so importing this package stays cheap at DAG parse time.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from airflow_mlops.lazy import lazy_exports

if TYPE_CHECKING:
    from airflow_mlops.hooks.dvc import DvcRemoteHook
    from airflow_mlops.hooks.mlflow import MlflowHook

#: public name -> the submodule that defines it
_HOMES = {"DvcRemoteHook": "dvc", "MlflowHook": "mlflow"}

__all__ = [
    "DvcRemoteHook",
    "MlflowHook",
]


__getattr__, __dir__ = lazy_exports(__name__, _HOMES)
