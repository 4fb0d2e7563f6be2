"""Link types and the workspace boundary of a checkout out of the cache."""

from __future__ import annotations

from pathlib import Path

import pytest

from airflow_mlops.data.dvc_checkout import link_types, make_room
from airflow_mlops.errors import ConfigError, DataError


def test_link_types_are_read_as_dvc_cache_type() -> None:
    assert link_types("reflink, hardlink,copy") == ["reflink", "hardlink", "copy"]
    for bad in ("", ",", "hardlink,teleport"):
        with pytest.raises(ConfigError, match=r"not a DVC cache\.type"):
            link_types(bad)


def test_make_room_replaces_an_output_inside_the_workspace_only(tmp_path: Path) -> None:
    workspace, outside = tmp_path / "ws", tmp_path / "outside"
    (workspace / "data" / "old").mkdir(parents=True)
    outside.mkdir()
    (workspace / "link").symlink_to(outside)

    make_room(workspace, "data")
    assert not (workspace / "data").exists()
    with pytest.raises(DataError, match="outside the workspace"):
        make_room(workspace, "link/file.csv")
