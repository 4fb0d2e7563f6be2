"""The remote options handed to DVC, and when a remote is read as a plain directory."""

from __future__ import annotations

from pathlib import Path

from airflow_mlops.data.dvc_remote import RemoteSpec, local_remote


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
