"""Batch scoring with an ONNX model, and the inference log that monitoring reads.

The inference log of a model is Parquet partitioned by scoring date:
``<log_root>/<model>/date=YYYY-MM-DD/part-<run>.parquet``, each row the model's input columns,
``prediction_id``, ``prediction``, ``confidence`` (classifiers: the top class's score),
``model_version`` and ``scored_at``. One file per scoring run, written atomically and named by
the run, so a retried run replaces its own file and never doubles rows.

``prediction_id`` is what labels that arrive later are joined on
(:mod:`~airflow_mlops.monitoring.performance`): the dataset's id column when one is named, else
``<run>-<row>`` (the run's name and the row's position in its input), so a retried run gives
every row the same id again.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from airflow_mlops.errors import DataError, DriftError
from airflow_mlops.monitoring.sources import (
    DEFAULT_CHUNK_ROWS,
    ParquetSink,
    csv_source,
    parquet_source,
)
from airflow_mlops.task_logs import Progress

if TYPE_CHECKING:
    import pandas as pd

    from airflow_mlops.export.runtime import OnnxPredictor

log = logging.getLogger(__name__)

PREDICTION = "prediction"
PREDICTION_ID = "prediction_id"
CONFIDENCE = "confidence"
MODEL_VERSION = "model_version"
SCORED_AT = "scored_at"
LOG_COLUMNS = (PREDICTION_ID, PREDICTION, CONFIDENCE, MODEL_VERSION, SCORED_AT)


def safe_name(value: str) -> str:
    """``value`` usable as one path component."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", value).strip("._") or "_"


def log_partition(log_root: str | Path, model: str, day: dt.date) -> Path:
    """The folder of ``model``'s inference log for ``day``."""
    return Path(log_root) / safe_name(model) / f"date={day.isoformat()}"


def window_files(log_root: str | Path, model: str, start: dt.date, end: dt.date) -> list[Path]:
    """The inference-log files of ``model`` scored from ``start`` to ``end`` (inclusive).

    :raises DriftError: no file in the window.
    """
    if end < start:
        raise DriftError(
            f"The monitoring window ends ({end}) before it starts ({start}).",
            hint="Give window_start <= window_end (dates, YYYY-MM-DD).",
        )
    days = [start + dt.timedelta(days=i) for i in range((end - start).days + 1)]
    files = [
        f for day in days for f in sorted(log_partition(log_root, model, day).glob("*.parquet"))
    ]
    if not files:
        raise DriftError(
            f"The inference log of {model!r} has no rows from {start} to {end} "
            f"under {str(Path(log_root) / safe_name(model))!r}: the window is empty.",
            hint="Run batch scoring for these dates first, or widen the window.",
            details={"model": model, "start": str(start), "end": str(end)},
        )
    return files


@dataclass(frozen=True)
class ScoringResult:
    """What a scoring run wrote (references only)."""

    predictions_uri: str
    inference_log_uri: str
    rows: int
    seconds: float
    rows_per_second: float
    model_version: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def input_chunks(path: str | Path, columns: list[str], chunk_rows: int) -> Iterator[pd.DataFrame]:
    """The ``columns`` of a CSV or Parquet dataset, in chunks of at most ``chunk_rows`` rows,
    each read only when the previous one has been handed on (see
    :mod:`~airflow_mlops.monitoring.sources`).

    :raises DataError: the file is missing, of another format, or lacks columns.
    """
    from airflow_mlops.data.io import table_format

    location = str(path)
    if not Path(location).exists():
        raise DataError(
            f"Dataset to score {location!r} does not exist.",
            hint="Check the path, or that the task producing it succeeded.",
        )
    if table_format(location) == "parquet":
        try:
            yield from parquet_source([location], chunk_rows)(columns)
        except DriftError as error:
            raise DataError(error.message, hint=error.hint, details=error.details) from error
        return
    try:
        yield from csv_source([location], chunk_rows)(columns)
    except ValueError as error:
        raise DataError(
            f"Cannot score {location!r}: {error}",
            hint=f"The model needs the columns {columns}.",
        ) from error


def score_dataset(
    predictor: OnnxPredictor,
    input_path: str | Path,
    *,
    predictions_path: str | Path,
    log_root: str | Path,
    model: str,
    model_version: str,
    run: str,
    scored_at: dt.datetime,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    id_column: str | None = None,
) -> ScoringResult:
    """Score ``input_path`` chunk by chunk; write predictions and append to the inference log.

    Each chunk is scored and written (one row group in each output) before the next is read,
    so memory holds about one chunk whatever the size of the input.

    :param predictor: the loaded model (:class:`~airflow_mlops.export.runtime.OnnxPredictor`).
    :param predictions_path: Parquet file of ``prediction`` (+ one ``score_<class>`` column per
        class for classifiers), in input order.
    :param log_root: root of the inference log (see the module docstring).
    :param run: names the log file, so a retry of one run replaces it.
    :param id_column: the input's id column, logged (as text) as each row's ``prediction_id``;
        None: ``<run>-<row>``.
    :raises DataError: the input is missing or lacks the model's columns (or ``id_column``).
    """
    import pandas as pd

    started = time.perf_counter()
    stamp = pd.Timestamp(scored_at)
    stamp = stamp.tz_convert("UTC").tz_localize(None) if stamp.tzinfo else stamp
    log_file = log_partition(log_root, model, stamp.date()) / f"part-{safe_name(run)}.parquet"
    sinks = [ParquetSink(predictions_path), ParquetSink(log_file)]
    progress = Progress(log, f"Scored with {model} version {model_version}:")
    columns = list(predictor.feature_columns)
    if id_column and id_column not in columns:
        columns.append(id_column)
    try:
        for chunk in input_chunks(input_path, columns, chunk_rows):
            scores = predictor.predict_proba(chunk)
            ids = _prediction_ids(chunk, id_column, run, sinks[0].rows)
            out = pd.DataFrame({PREDICTION_ID: ids, PREDICTION: _labels(predictor, scores)})
            if predictor.task == "classification":
                for i, name in enumerate(predictor.classes or range(scores.shape[1])):
                    out[f"score_{name}"] = scores[:, i]
            record = chunk.reset_index(drop=True).assign(
                **{
                    PREDICTION_ID: ids,
                    PREDICTION: out[PREDICTION],
                    MODEL_VERSION: str(model_version),
                    SCORED_AT: stamp,
                }
            )
            if predictor.task == "classification":
                record[CONFIDENCE] = scores.max(axis=1)
            sinks[0].write(out)
            sinks[1].write(record)
            progress.add(len(chunk))
        rows = sinks[0].rows
        if rows == 0:
            raise DataError(
                f"Dataset to score {str(input_path)!r} has no rows.",
                hint="Check the task that produced it; nothing was written.",
            )
        for sink in sinks:
            sink.close()
        progress.done()
    except BaseException:
        for sink in sinks:
            sink.abort()
        raise
    seconds = time.perf_counter() - started
    return ScoringResult(
        predictions_uri=str(Path(predictions_path).resolve()),
        inference_log_uri=str(log_file.resolve()),
        rows=rows,
        seconds=round(seconds, 3),
        rows_per_second=round(rows / seconds, 1) if seconds else 0.0,
        model_version=str(model_version),
    )


def _prediction_ids(chunk: pd.DataFrame, id_column: str | None, run: str, offset: int) -> Any:
    """The ids of a chunk's rows: its id column as text, or ``<run>-<row>`` from ``offset``."""
    import numpy as np

    if id_column:
        return chunk[id_column].astype(str).to_numpy()
    return np.char.add(f"{safe_name(run)}-", np.arange(offset, offset + len(chunk)).astype(str))


def _labels(predictor: OnnxPredictor, scores: Any) -> Any:
    """Class labels (classification) or values (regression) from the ``score`` output."""
    import numpy as np

    if predictor.task == "regression":
        return scores[:, 0]
    best = scores.argmax(axis=1)
    return np.asarray(predictor.classes)[best] if predictor.classes else best
