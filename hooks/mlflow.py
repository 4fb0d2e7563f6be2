"""The ``mlflow`` connection type: where the MLflow tracking server is, and its credentials."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from airflow.sdk import BaseHook

from airflow_mlops.errors import ConfigError, MlopsError
from airflow_mlops.task_logs import quiet_libraries

if TYPE_CHECKING:
    from mlflow import MlflowClient

#: the environment variables through which MLflow's client (and our REST reader) authenticate
CREDENTIAL_ENV = ("MLFLOW_TRACKING_USERNAME", "MLFLOW_TRACKING_PASSWORD", "MLFLOW_TRACKING_TOKEN")
#: seconds the connection test waits for the tracking server
TEST_TIMEOUT_S = 10.0


class MlflowHook(BaseHook):
    """An MLflow tracking server from an Airflow connection of type ``mlflow``.

    The connection's host is the tracking URL (``http://mlflow:5000``), or a bare host name
    completed by its schema (default ``http``) and port. Login and password, when set, are
    handed to MLflow as ``MLFLOW_TRACKING_USERNAME``/``PASSWORD`` (basic auth); a password
    without a login is a bearer token (``MLFLOW_TRACKING_TOKEN``, e.g. Databricks or an auth
    proxy). Without the connection, ``MLFLOW_TRACKING_URI`` is used. The connection form's
    labels and placeholders are in the provider info (:mod:`airflow_mlops.provider`), where
    Airflow 3.3 reads them.

    :param mlflow_conn_id: the Airflow connection id (``mlflow_default`` by default).
    """

    conn_name_attr = "mlflow_conn_id"
    default_conn_name = "mlflow_default"
    conn_type = "mlflow"
    hook_name = "MLflow"

    def __init__(self, mlflow_conn_id: str = default_conn_name) -> None:
        super().__init__()
        self.mlflow_conn_id = mlflow_conn_id

    def get_tracking_uri(self) -> str:
        """The tracking URL of the connection, else ``MLFLOW_TRACKING_URI``; the one place that
        resolves it (operators, extra links, macros and the UI's API all call this).

        The connection's credentials go to the environment as MLflow reads them (basic auth, or
        ``MLFLOW_TRACKING_TOKEN``), for ``MlflowClient`` and :mod:`airflow_mlops.mlflow_rest`;
        MLflow's progress bars go off (:func:`~airflow_mlops.task_logs.quiet_libraries`).

        :raises ConfigError: neither is set.
        """
        from airflow.sdk.exceptions import AirflowNotFoundException

        quiet_libraries()
        try:
            conn = self.get_connection(self.mlflow_conn_id)
        except AirflowNotFoundException:
            conn = None
        if conn is not None and conn.host:
            if conn.login:
                os.environ["MLFLOW_TRACKING_USERNAME"] = conn.login
                os.environ["MLFLOW_TRACKING_PASSWORD"] = conn.password or ""
            elif conn.password:
                os.environ["MLFLOW_TRACKING_TOKEN"] = conn.password
            if "://" in conn.host:
                return conn.host.rstrip("/")
            port = f":{conn.port}" if conn.port else ""
            return f"{conn.schema or 'http'}://{conn.host}{port}"
        if os.environ.get("MLFLOW_TRACKING_URI"):
            return os.environ["MLFLOW_TRACKING_URI"]
        raise ConfigError(
            f"No MLflow tracking URL: connection {self.mlflow_conn_id!r} is not defined and "
            "MLFLOW_TRACKING_URI is not set.",
            hint=f"Add an Airflow connection {self.mlflow_conn_id!r} of type mlflow whose host "
            "is the tracking URL (e.g. http://mlflow:5000), or set MLFLOW_TRACKING_URI.",
        )

    def get_conn(self) -> MlflowClient:
        """An ``MlflowClient`` for the tracking server (tracking and registry)."""
        from airflow_mlops.model_registry.client import mlflow_client

        return mlflow_client(self.get_tracking_uri())

    def test_connection(self) -> tuple[bool, str]:
        """Ask the tracking server for one experiment (the connection form's "Test" button).

        Runs in the api-server: the credentials it sets for the call are put back afterwards.
        """
        from airflow_mlops.mlflow_rest import MlflowRest

        saved = {name: os.environ.get(name) for name in CREDENTIAL_ENV}
        try:
            uri = self.get_tracking_uri()
            MlflowRest(uri, timeout_s=TEST_TIMEOUT_S).get("experiments/search", max_results=1)
        except MlopsError as error:
            return False, str(error)
        finally:
            for name, value in saved.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value
        return True, f"MLflow at {uri} answered."
