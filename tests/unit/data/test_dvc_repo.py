"""Pulls that go through DVC itself: the registry's default remote, an untracked target."""

from __future__ import annotations

from pathlib import Path

import pytest

from airflow_mlops.data.dvc import pull
from airflow_mlops.data.dvc_cache import file_md5
from airflow_mlops.data.dvc_remote import RemoteSpec
from airflow_mlops.errors import DataError

TARGET = "data/cancer.csv"


def test_registry_default_remote_is_pulled_with_dvc(demo_registry, tmp_path: Path) -> None:
    # no remote URL: DVC reads the registry's config (the template's remote) and pulls
    result = pull(
        str(demo_registry.repo),
        [TARGET],
        rev="v2",
        workspace=tmp_path / "ws",
        cache_dir=tmp_path / "cache",
        remote=RemoteSpec(),
    )

    local = Path(result.targets[0].local_path)
    assert result.fetched == 1
    assert file_md5(local) == result.md5 == result.targets[0].md5
    assert result.size == local.stat().st_size
    names = sorted(p.name for p in (tmp_path / "ws").iterdir())
    assert names == [".dvc", ".dvcignore", ".mlops-workspace", "data"]


def test_untracked_target_lists_the_tracked_outputs(demo_registry, tmp_path: Path) -> None:
    with pytest.raises(DataError, match="not tracked by DVC") as caught:
        pull(
            str(demo_registry.repo),
            ["data/other.csv"],
            rev="v1",
            workspace=tmp_path / "ws",
            cache_dir=tmp_path / "cache",
            remote=RemoteSpec(url=str(demo_registry.remote)),
        )

    assert caught.value.details["tracked"] == [TARGET]
    assert not (tmp_path / "ws").exists()
