"""Reuse the unit tests' task-context fixture (a recording task instance)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

_spec = importlib.util.spec_from_file_location(
    "validation_unit_fixtures", Path(__file__).parents[2] / "unit" / "validation" / "conftest.py"
)
assert _spec is not None and _spec.loader is not None
_fixtures = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = _fixtures  # dataclasses look their module up there
_spec.loader.exec_module(_fixtures)
task_context = _fixtures.task_context
