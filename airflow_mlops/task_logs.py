"""What a task log shows: the libraries' noise quieted, our own progress at INFO.

Airflow logs a task's stderr at ERROR and every logger at INFO. Left alone, Great Expectations
writes about 210 INFO lines when it is imported (its docs decorators announcing each expectation
they register) and GX and MLflow draw progress bars (tqdm, on stderr) that land in the log as
errors. :func:`quiet_libraries` switches both off; long loops report their progress with
:class:`Progress` instead.
"""

from __future__ import annotations

import logging
import os
import time
from typing import Any

#: the logger of Great Expectations (its import-time registration lines log under it)
GX_LOGGER = "great_expectations"
#: MLflow's switch for the artifact upload/download progress bars
MLFLOW_PROGRESS_BAR_ENV = "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR"


def quiet_libraries() -> None:
    """Quiet GX and MLflow in task logs; call it before importing either.

    GX's logger goes to WARNING unless a level was set for it; MLflow's progress bars go off
    unless ``MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR`` is set. Idempotent and cheap.
    """
    gx = logging.getLogger(GX_LOGGER)
    if gx.level == logging.NOTSET:
        gx.setLevel(logging.WARNING)
    os.environ.setdefault(MLFLOW_PROGRESS_BAR_ENV, "false")


def quiet_gx_context(context: Any) -> None:
    """Switch off the progress bars of a GX data context (they are on by default)."""
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context.variables.progress_bars = ProgressBarsConfig(globally=False)


class Progress:
    """Logs how many rows a loop has done and its rate, at INFO, at most every ``every`` s.

    :param logger: where to log.
    :param what: what is being done, e.g. ``"Scored"`` (the line reads ``"Scored 10000 rows
        (52000 rows/s)"``).
    :param every: seconds between two progress lines; :meth:`done` always logs.
    """

    def __init__(self, logger: logging.Logger, what: str, *, every: float = 30.0) -> None:
        self.logger, self.what, self.every = logger, what, every
        self.rows = 0
        self.started = self.logged = time.perf_counter()

    def add(self, rows: int) -> None:
        """Count ``rows`` more; log when ``every`` seconds passed since the last line."""
        self.rows += rows
        now = time.perf_counter()
        if now - self.logged >= self.every:
            self.logged = now
            self._log(now, "so far")

    def done(self) -> None:
        """Log the total and the overall rate."""
        self._log(time.perf_counter(), "in total")

    def _log(self, now: float, when: str) -> None:
        seconds = now - self.started
        rate = self.rows / seconds if seconds > 0 else 0.0
        self.logger.info(
            "%s %d rows %s (%.0f rows/s, %.1f s)", self.what, self.rows, when, rate, seconds
        )
