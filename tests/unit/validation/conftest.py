"""Fixtures for the validation tests: the demo reference, its learned suite, a task context."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest


@dataclass
class RecordingTaskInstance:
    """The part of a task instance that ValidateDataOperator uses; records XCom pushes."""

    dag_id: str = "validation_test"
    run_id: str = "manual__2026-01-01T00:00:00"
    task_id: str = "validate"
    map_index: int = -1
    pushed: dict[str, Any] = field(default_factory=dict)

    def xcom_push(self, key: str, value: Any) -> None:
        self.pushed[key] = value


@pytest.fixture
def task_context() -> dict[str, Any]:
    return {"ti": RecordingTaskInstance()}


@pytest.fixture(scope="session")
def reference_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tests.support.corpus import reference_frame

    path = tmp_path_factory.mktemp("reference") / "reference.csv"
    reference_frame().to_csv(path, index=False)
    return path
