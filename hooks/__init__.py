"""Airflow hooks: connections to the MLflow tracking server and the DVC remote.

The public classes import from here (``from airflow_mlops.hooks import MlflowHook``); each
loads its module on first use, so importing this package stays cheap at DAG parse time.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from airflow_mlops.hooks.dvc import DvcRemoteHook
    from airflow_mlops.hooks.mlflow import MlflowHook

#: public name -> the submodule that defines it
_HOMES = {"DvcRemoteHook": "dvc", "MlflowHook": "mlflow"}

__all__ = [
    "DvcRemoteHook",
    "MlflowHook",
]


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{_HOMES[name]}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
