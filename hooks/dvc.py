"""Turn an Airflow AWS connection into the options of a DVC S3 remote, in memory only."""

from __future__ import annotations

from typing import Any

from airflow.providers.amazon.aws.hooks.base_aws import AwsBaseHook


class DvcRemoteHook(AwsBaseHook):
    """Credentials for a DVC S3 remote from an Airflow AWS connection.

    The key pair (or the session token of an assumed role) and the connection's
    ``endpoint_url`` and region become DVC remote options. They are handed to DVC in memory:
    :meth:`get_remote_config` registers the secrets with Airflow's log masker and never writes
    them to disk or XCom.

    :param aws_conn_id: the Airflow AWS connection (``aws_default`` by default).
    """

    def __init__(self, aws_conn_id: str | None = AwsBaseHook.default_conn_name) -> None:
        super().__init__(aws_conn_id=aws_conn_id, client_type="s3")

    def get_remote_config(self) -> dict[str, Any]:
        """DVC S3 remote options: access_key_id, secret_access_key, session_token, ..."""
        credentials = self.get_credentials()
        options: dict[str, Any] = {
            "access_key_id": credentials.access_key,
            "secret_access_key": credentials.secret_key,
        }
        if credentials.token:
            options["session_token"] = credentials.token
        endpoint = self.conn_config.get_service_endpoint_url(service_name="s3")
        if endpoint:
            options["endpointurl"] = endpoint
        if self.conn_region_name:
            options["region"] = self.conn_region_name
        return options
