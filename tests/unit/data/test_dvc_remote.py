"""The remote options handed to DVC, and when a remote is read as a plain directory."""

from __future__ import annotations

from pathlib import Path

import pytest

from airflow_mlops.data.dvc_remote import RemoteSpec, check_options_fit, local_remote
from airflow_mlops.errors import DataError


def test_a_url_is_merged_over_the_options_and_https_is_verified() -> None:
    spec = RemoteSpec(url="https://host/store", config={"region": "eu-west-1"})

    assert spec.remote_config() == {
        "region": "eu-west-1",
        "url": "https://host/store",
        "verify": True,
    }
    assert RemoteSpec(url="file:///srv/store").remote_config() == {"url": "file:///srv/store"}
    assert "secret" not in repr(RemoteSpec(config={"secret_access_key": "secret"}))


def test_only_an_absolute_path_without_options_is_a_local_remote(tmp_path: Path) -> None:
    assert local_remote(RemoteSpec(url=str(tmp_path))) == tmp_path
    assert local_remote(RemoteSpec(url="relative/store")) is None
    assert local_remote(RemoteSpec(url="s3://bucket/store")) is None
    assert local_remote(RemoteSpec(url=str(tmp_path), config={"region": "x"})) is None
    assert local_remote(RemoteSpec()) is None


@pytest.mark.parametrize(
    ("url", "kind"),
    [
        ("/srv/remote", "a local directory"),
        ("file:///srv/r", "a local directory"),
        ("gs://bucket/x", "a gs:// remote"),
    ],
)
def test_aws_options_for_a_remote_of_another_kind_say_so(url: str, kind: str) -> None:
    with pytest.raises(DataError, match=f"'local' is {kind}; aws_conn_id applies to s3://"):
        check_options_fit("local", url, {"access_key_id": "a", "secret_access_key": "b"})


def test_aws_options_fit_an_s3_remote_and_no_options_fit_any() -> None:
    check_options_fit("s3", "s3://bucket/store", {"access_key_id": "a"})
    check_options_fit("local", "/srv/remote", {})
