"""Telling refused credentials from connection failures in storage errors."""

from __future__ import annotations

import pytest

from airflow_mlops.data.dvc_errors import is_auth_error


def _client_error(code: str, message: str) -> Exception:
    from botocore.exceptions import ClientError

    return ClientError({"Error": {"Code": code, "Message": message}}, "HeadObject")


@pytest.mark.parametrize(
    ("error", "refused"),
    [
        # the port in the URL holds "403": still a connection failure, not refused credentials
        ("endpoint", False),
        (ConnectionRefusedError(111, "Connect call failed ('127.0.0.1', 40353)"), False),
        (PermissionError("Access Denied"), True),
        ("InvalidAccessKeyId", True),
        ("403", True),
        ("NoSuchBucket", False),
    ],
)
def test_credential_errors_are_told_from_connection_errors(error, refused: bool) -> None:
    from botocore.exceptions import EndpointConnectionError

    if error == "endpoint":
        error = EndpointConnectionError(endpoint_url="http://127.0.0.1:40353/bucket/files/md5")
    elif isinstance(error, str):
        error = _client_error(error, f"An error at http://127.0.0.1:40353/{error}")
    assert is_auth_error(error) is refused
