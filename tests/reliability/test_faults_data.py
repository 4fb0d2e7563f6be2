"""Whole level-1 CT runs whose DVC remote is gone, unreachable, missing an object or corrupt.

Each run pulls through a fresh DVC cache (its own ``AIRFLOW_MLOPS_HOME``), so the data must come
from the broken remote; a pull served from a warm cache would be right, and is not what is
tested. The pull must fail with a message naming the remote and what to do, publish no
workspace, and leave the registry untouched. Pull-level cases (S3 via moto, bad credentials)
are in tests/unit/data/test_dvc.py and tests/integration/data_in/test_dvc_s3.py.
"""

from __future__ import annotations

import json
import shutil
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.reliability.faults import failed_at, leftovers, tree

pytestmark = [pytest.mark.e2e, pytest.mark.integration, pytest.mark.slow]


def point_main_at(registry: Any, url: str) -> None:
    """Commit a new default-remote URL on the registry's ``main`` (what a pull of main uses)."""
    from airflow_mlops.local.demo.registry import dvc_argv, run_tool

    run_tool(dvc_argv("remote", "modify", "local", "url", url), registry.repo)
    run_tool(["git", "commit", "-q", "-am", f"DVC remote moved to {url}"], registry.repo)


def main_object(registry: Any) -> Path:
    """The remote's object file of ``data/cancer.csv`` at ``main``."""
    md5 = yaml.safe_load((registry.repo / "data" / "cancer.csv.dvc").read_text())["outs"][0]["md5"]
    return registry.remote / "files" / "md5" / md5[:2] / md5[2:]


def remote_gone(registry: Any, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    point_main_at(registry, str(registry.remote))
    shutil.rmtree(registry.remote)
    return {}


def object_missing(registry: Any, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    point_main_at(registry, str(registry.remote))
    main_object(registry).unlink()
    return {}


def object_corrupt(registry: Any, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    point_main_at(registry, str(registry.remote))
    stored = main_object(registry)
    stored.chmod(0o644)
    stored.write_text(stored.read_text().replace("north", "nurth"))
    return {}


def endpoint_down(registry: Any, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    from airflow_mlops.local.services import free_port

    point_main_at(registry, "s3://dvc-registry/store")
    closed = {"endpoint_url": f"http://127.0.0.1:{free_port()}", "region_name": "us-east-1"}
    connection = {"conn_type": "aws", "login": "key", "password": uuid.uuid4().hex, "extra": closed}
    monkeypatch.setenv("AIRFLOW_CONN_DVC_DOWN", json.dumps(connection))
    return {"remote_aws_conn_id": "dvc_down"}


#: fault -> (how to break the remote, the message the pull must fail with)
FAULTS: dict[str, tuple[Callable[..., dict[str, Any]], str]] = {
    "remote_gone": (remote_gone, r"DataError: The DVC remote .* does not exist or cannot be read"),
    "object_missing": (object_missing, r"DataError: Objects \w+ of revision 'main' are missing"),
    "object_corrupt": (object_corrupt, r"DataError: Object \S+ on remote .* is corrupt"),
    "endpoint_down": (endpoint_down, r"DataError: The DVC remote .* is unreachable"),
}
HINTS = {
    "remote_gone": "What to do: Check the remote URL",
    "object_missing": "What to do: Run `dvc push` in the registry",
    "object_corrupt": "What to do: Delete the object on the remote and `dvc push` it again",
    "endpoint_down": "What to do: Check the remote URL, endpoint and network, then retry.",
}


@pytest.mark.parametrize("fault", FAULTS)
def test_broken_remote_fails_the_pull(
    fault: str, ct, demo_registry, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capfd
) -> None:
    import re

    from airflow_mlops.settings import HOME_ENV, MlopsHome

    monkeypatch.setenv(HOME_ENV, str(tmp_path / "home"))  # a cold DVC cache
    breaks, message = FAULTS[fault]
    dataset = {"registry": str(demo_registry.repo), **breaks(demo_registry, monkeypatch)}

    run = ct.run(ct.dag(dataset=dataset))

    failed_at(run, "pull_data")
    log = capfd.readouterr().out
    assert re.search(message, log), log[-3000:]
    assert HINTS[fault] in log
    home = MlopsHome.from_env()
    assert tree(home.workspaces) == []  # nothing published
    assert leftovers(home.root) == []
    assert ct.registry().versions == {}


def test_dvc_console_closed_by_an_earlier_task_does_not_hide_the_error(
    demo_registry, tmp_path: Path
) -> None:
    """DVC binds its console handlers to stdout/stderr at import; a runner that closed those
    (dag.test() in a test session does) made DVC's warning raise LoggingException instead."""
    import io
    import logging

    from dvc.logger import LoggerHandler

    from airflow_mlops.data.dvc import pull
    from airflow_mlops.errors import DataError

    closed = io.StringIO()
    closed.close()
    for handler in logging.getLogger("dvc_data").handlers:
        if isinstance(handler, LoggerHandler):
            handler.stream = closed
    point_main_at(demo_registry, str(demo_registry.remote))
    main_object(demo_registry).unlink()

    with pytest.raises(DataError, match="missing on remote") as caught:
        pull(
            str(demo_registry.repo),
            ["data/cancer.csv"],
            rev="main",
            workspace=tmp_path / "ws",
            cache_dir=tmp_path / "cache",
        )
    assert caught.value.details["kind"] == "object_missing"
