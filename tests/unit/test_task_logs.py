"""task_logs: a validate task's log without GX's noise, progress lines at INFO."""

from __future__ import annotations

import logging
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from airflow_mlops.task_logs import GX_LOGGER, MLFLOW_PROGRESS_BAR_ENV, Progress, quiet_libraries

ROOT = Path(__file__).resolve().parents[2]

#: a validate task in a fresh interpreter (GX not imported yet), logging as Airflow does: every
#: logger at INFO, stderr captured
VALIDATE_TASK = textwrap.dedent(
    """
    import logging, sys
    logging.basicConfig(level=logging.INFO, stream=sys.stdout, format="%(name)s %(message)s")
    from tests.support.context import make_task_context
    from tests.support.corpus import build_corpus, reference_frame
    from airflow_mlops.operators.validation import ValidateDataOperator

    root = sys.argv[1]
    corpus = build_corpus(__import__("pathlib").Path(root) / "corpus")
    reference = f"{root}/reference.csv"
    reference_frame().to_csv(reference, index=False)
    task = ValidateDataOperator(
        task_id="validate", dataset=str(corpus["clean"]), reference=reference,
        artifact_root=root, engine="gx",
    )
    task.execute(make_task_context("validate"))
    print("VALIDATED")
    """
)


def test_a_validate_task_log_has_no_gx_registration_lines_or_progress_bars(
    tmp_path: Path,
) -> None:
    done = subprocess.run(
        [sys.executable, "-c", VALIDATE_TASK, str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert "VALIDATED" in done.stdout, done.stderr[-3000:]
    lines = done.stdout.splitlines()
    gx_lines = [line for line in lines if line.startswith(GX_LOGGER)]
    assert gx_lines == []
    assert "Validation passed" in done.stdout
    assert "it/s]" not in done.stderr and "Calculating Metrics" not in done.stderr


def test_quiet_libraries_keeps_a_level_or_switch_the_user_set(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    logger = logging.getLogger(GX_LOGGER)
    monkeypatch.setattr(logger, "level", logging.NOTSET)
    monkeypatch.delenv(MLFLOW_PROGRESS_BAR_ENV, raising=False)
    quiet_libraries()
    assert logger.level == logging.WARNING
    import os

    assert os.environ[MLFLOW_PROGRESS_BAR_ENV] == "false"

    logger.setLevel(logging.DEBUG)
    monkeypatch.setenv(MLFLOW_PROGRESS_BAR_ENV, "true")
    quiet_libraries()
    assert logger.level == logging.DEBUG
    assert os.environ[MLFLOW_PROGRESS_BAR_ENV] == "true"


def test_progress_logs_rows_and_rate_at_info(caplog: pytest.LogCaptureFixture) -> None:
    logger = logging.getLogger("tests.progress")
    with caplog.at_level(logging.INFO, logger="tests.progress"):
        progress = Progress(logger, "Scored", every=0.0)
        progress.add(1000)
        progress.add(500)
        progress.done()
    messages = [r.getMessage() for r in caplog.records]
    assert all(r.levelno == logging.INFO for r in caplog.records)
    assert messages[0].startswith("Scored 1000 rows so far (")
    assert messages[-1].startswith("Scored 1500 rows in total (") and "rows/s" in messages[-1]


def test_progress_waits_between_lines(caplog: pytest.LogCaptureFixture) -> None:
    logger = logging.getLogger("tests.progress")
    with caplog.at_level(logging.INFO, logger="tests.progress"):
        progress = Progress(logger, "Scored", every=3600.0)
        for _ in range(100):
            progress.add(10)
        progress.done()
    assert len(caplog.records) == 1
