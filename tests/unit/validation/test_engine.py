"""The vectorised engine gives GX's own answers: same success and counts on the whole corpus."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from airflow_mlops.data.io import read_table
from airflow_mlops.errors import DataError
from airflow_mlops.validation.learn import LearnOptions, learn_suite
from airflow_mlops.validation.validate import validate_frame
from tests.support.corpus import (
    CASES,
    CLEAN,
    CORPUS_MAX_BYTES,
    build_corpus,
    reference_frame,
)


@pytest.fixture(scope="module")
def frames(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    paths = build_corpus(tmp_path_factory.mktemp("corpus"))
    loaded = {}
    for name, path in paths.items():
        try:
            loaded[name] = read_table(path, max_bytes=CORPUS_MAX_BYTES)
        except DataError:
            continue
    return loaded


@pytest.fixture(scope="module")
def suite() -> dict[str, Any]:
    return learn_suite(reference_frame(), name="cancer", options=LearnOptions(label="malignant"))


@pytest.mark.slow
@pytest.mark.parametrize("name", [CLEAN.name, *(c.name for c in CASES)])
def test_auto_engine_agrees_with_gx(
    name: str, frames: dict[str, Any], suite: dict[str, Any], tmp_path: Path
) -> None:
    if name not in frames:
        pytest.skip(f"{name} is refused by the reader before any engine runs")
    fast = validate_frame(frames[name], suite, engine="auto")
    slow = validate_frame(frames[name], suite, engine="gx")
    assert fast.outcome == slow.outcome
    assert slow.engines == {"gx": len(suite["expectations"])}

    def key(report: Any) -> list[tuple[Any, ...]]:
        return [(f["expectation"], f["column"], f["unexpected_count"]) for f in report.failed]

    assert key(fast) == key(slow)
    for mine, theirs in zip(fast.failed, slow.failed, strict=True):
        if mine["unexpected_count"]:
            assert [str(v) for v in mine["examples"]] == [str(v) for v in theirs["examples"]]
