"""Where the plugin finds MLflow: the ``mlflow_default`` connection, else MLFLOW_TRACKING_URI."""

from __future__ import annotations

import os

from airflow_mlops.errors import ConfigError

DEFAULT_CONN_ID = "mlflow_default"


def tracking_uri(conn_id: str = DEFAULT_CONN_ID) -> str:
    """The MLflow tracking URL from connection ``conn_id`` (host = URL), else the environment.

    :raises ConfigError: neither the connection nor ``MLFLOW_TRACKING_URI`` is set.
    """
    from airflow.sdk import BaseHook
    from airflow.sdk.exceptions import AirflowNotFoundException

    try:
        conn = BaseHook.get_connection(conn_id)
    except AirflowNotFoundException:
        conn = None
    if conn is not None and conn.host:
        if "://" in conn.host:
            return conn.host.rstrip("/")
        port = f":{conn.port}" if conn.port else ""
        return f"{conn.schema or 'http'}://{conn.host}{port}"
    if os.environ.get("MLFLOW_TRACKING_URI"):
        return os.environ["MLFLOW_TRACKING_URI"]
    raise ConfigError(
        f"No MLflow tracking URL: connection {conn_id!r} is not defined and "
        "MLFLOW_TRACKING_URI is not set.",
        hint=f"Add an Airflow connection {conn_id!r} of type mlflow whose host is the tracking "
        "URL (e.g. http://mlflow:5000), or set MLFLOW_TRACKING_URI for the api-server.",
    )
