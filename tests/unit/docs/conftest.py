"""Fixtures for the documentation tests: the examples folder on sys.path, a task context."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

DOCS = Path(__file__).resolve().parents[3] / "docs"


@pytest.fixture
def examples(monkeypatch: pytest.MonkeyPatch) -> Path:
    """``docs/examples`` importable as top-level modules (as a user's package would be)."""
    folder = DOCS / "examples"
    monkeypatch.syspath_prepend(str(folder))
    return folder


class TaskInstance:
    """The few task-instance attributes the operators read, with XComs kept in a dict."""

    def __init__(self, dag_id: str, run_id: str, task_id: str) -> None:
        self.dag_id, self.run_id, self.task_id, self.map_index = dag_id, run_id, task_id, -1
        self.xcoms: dict[str, Any] = {}

    def xcom_push(self, key: str, value: Any) -> None:
        self.xcoms[key] = value


@pytest.fixture
def task_context():
    """A function ``(task_id) -> context`` with ``ti``, ``run_id`` and ``dag_id`` set."""

    def make(task_id: str) -> dict[str, Any]:
        ti = TaskInstance("docs_examples", "manual__2026-01-01T00:00:00", task_id)
        return {"ti": ti, "run_id": ti.run_id}

    return make
