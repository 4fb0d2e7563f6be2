"""Every kind of broken data in the corpus is stopped with a message that names the problem."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from airflow_mlops.validation.learn import LearnOptions, learn_suite
from airflow_mlops.validation.validate import validate_dataset
from tests.support.corpus import CASES, CORPUS_MAX_BYTES, build_corpus, reference_frame


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return build_corpus(tmp_path_factory.mktemp("corpus"))


@pytest.fixture(scope="module")
def suite() -> dict[str, Any]:
    return learn_suite(reference_frame(), name="cancer", options=LearnOptions(label="malignant"))


def test_corpus_has_at_least_twenty_kinds() -> None:
    assert len(CASES) >= 20
    assert len({case.name for case in CASES}) == len(CASES)


def test_clean_batch_passes(corpus: dict[str, Path], suite: dict[str, Any]) -> None:
    report = validate_dataset(str(corpus["clean"]), suite, max_bytes=CORPUS_MAX_BYTES)
    assert report.outcome == "pass", report.summary()
    assert report.failed == []


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_broken_data_is_stopped_with_a_clear_message(
    case, corpus: dict[str, Path], suite: dict[str, Any], tmp_path: Path
) -> None:
    report = validate_dataset(
        str(corpus[case.name]), suite, max_bytes=CORPUS_MAX_BYTES, output_dir=tmp_path / "out"
    )
    message = report.summary()
    assert report.outcome == "stop", message
    assert not report.success
    for word in case.expect:
        assert word in message, f"{word!r} not in:\n{message}"
    assert all(len(item["examples"]) <= 5 for item in report.failed)
    assert (tmp_path / "out" / "index.html").stat().st_size > 0
    assert (tmp_path / "out" / "report.json").exists()
