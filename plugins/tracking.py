"""Where the plugin finds MLflow: the ``mlflow_default`` connection, else MLFLOW_TRACKING_URI."""

from __future__ import annotations

from airflow_mlops.hooks.mlflow import MlflowHook

DEFAULT_CONN_ID = MlflowHook.default_conn_name


def tracking_uri(conn_id: str = DEFAULT_CONN_ID) -> str:
    """The MLflow tracking URL of connection ``conn_id`` (see :class:`MlflowHook`).

    :raises ConfigError: neither the connection nor ``MLFLOW_TRACKING_URI`` is set.
    """
    return MlflowHook(conn_id).get_tracking_uri()
