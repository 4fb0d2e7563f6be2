"""Fixtures for the documentation tests: the examples folder on sys.path."""

from __future__ import annotations

from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parents[3] / "docs"


@pytest.fixture
def examples(monkeypatch: pytest.MonkeyPatch) -> Path:
    """``docs/examples`` importable as top-level modules (as a user's package would be)."""
    folder = DOCS / "examples"
    monkeypatch.syspath_prepend(str(folder))
    return folder
