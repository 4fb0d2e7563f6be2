"""The real CT run that the browser tests share (one per session: two CT runs and a
monitoring run take minutes)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.real_run import LinkedRun
from tests.support.real_run import linked_run as start_linked_run


@pytest.fixture(scope="session")
def linked_run(
    mlflow_server: str, airflow_db: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LinkedRun]:
    yield from start_linked_run(mlflow_server, tmp_path_factory.mktemp("links"))
