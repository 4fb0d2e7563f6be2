"""Template macros: ``{{ macros.airflow_mlops.champion_version("churn") }}`` and friends."""

from __future__ import annotations

from airflow_mlops.errors import RegistryError
from airflow_mlops.hooks.mlflow import MlflowHook
from airflow_mlops.lineage import CHALLENGER, CHAMPION
from airflow_mlops.operators.exceptions import MlopsTaskError


def alias_version(name: str, alias: str, mlflow_conn_id: str = MlflowHook.default_conn_name) -> str:
    """The version number (a string) that ``alias`` of registered model ``name`` points to.

    :param name: registered model name.
    :param alias: e.g. ``champion``.
    :param mlflow_conn_id: Airflow connection of the MLflow server (else MLFLOW_TRACKING_URI).
    """
    from mlflow import MlflowClient
    from mlflow.exceptions import MlflowException

    uri = MlflowHook(mlflow_conn_id).get_tracking_uri()
    try:
        version = MlflowClient(uri, uri).get_model_version_by_alias(name, alias)
    except MlflowException as error:
        raise MlopsTaskError.from_core(
            RegistryError(
                f"Model {name!r} has no version with alias {alias!r} in MLflow at {uri}: "
                f"{error.message}",
                hint="Promote a version first (a CT run does), or render this field only when "
                "the alias exists.",
            )
        ) from error
    return str(version.version)


def champion_version(name: str, mlflow_conn_id: str = MlflowHook.default_conn_name) -> str:
    """The version number of the ``champion`` of ``name``."""
    return alias_version(name, CHAMPION, mlflow_conn_id)


def challenger_version(name: str, mlflow_conn_id: str = MlflowHook.default_conn_name) -> str:
    """The version number of the ``challenger`` of ``name``."""
    return alias_version(name, CHALLENGER, mlflow_conn_id)


def champion_uri(name: str) -> str:
    """``models:/<name>@champion``: the champion as an MLflow model URI (no server call)."""
    return f"models:/{name}@{CHAMPION}"
