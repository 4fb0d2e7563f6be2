"""Chunked readers: the drift check and batch scoring see data only as a stream of DataFrames of
at most ``batch_rows`` rows, so memory stays flat whatever the number of rows. A source is called
once per pass with the columns it needs.

Parquet is read one row group at a time (``read_row_group``), and a row group larger than a
batch is streamed in slices by a reader scoped to that group. Both are released before the next
group is read: one ``iter_batches`` reader over a whole file keeps memory it has used (about
1.1 GB after 10M rows), a reader per row group does not."""

from __future__ import annotations

import os
import queue
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from airflow_mlops.errors import DriftError

if TYPE_CHECKING:
    import pandas as pd

#: a source: ``source(columns)`` yields DataFrames holding at least those columns
Source = Callable[[Sequence[str]], Iterator["pd.DataFrame"]]

DEFAULT_CHUNK_ROWS = 262_144
_DONE = object()


def frame_source(frame: pd.DataFrame, chunk_rows: int = DEFAULT_CHUNK_ROWS) -> Source:
    """A source over an in-memory DataFrame, sliced without copies."""

    def read(columns: Sequence[str]) -> Iterator[pd.DataFrame]:
        selected = frame[[c for c in columns if c in frame.columns]]  # the reader names the rest
        for start in range(0, len(selected), chunk_rows):
            yield selected.iloc[start : start + chunk_rows]

    return read


def parquet_files(location: str | Path) -> list[Path]:
    """The Parquet files of ``location``: one file, or every ``*.parquet`` below a folder
    (a partitioned inference log), sorted.

    :raises DriftError: nothing to read there.
    """
    root = Path(location)
    files = sorted(root.rglob("*.parquet")) if root.is_dir() else [root] if root.is_file() else []
    if not files:
        raise DriftError(
            f"No Parquet data at {str(root)!r}: the window is empty.",
            hint="Check the window and that batch scoring wrote its inference log there.",
            details={"location": str(root)},
        )
    return files


def parquet_source(files: Sequence[str | Path], batch_rows: int = DEFAULT_CHUNK_ROWS) -> Source:
    """A source over Parquet files, read row group by row group (only the needed columns).

    :raises DriftError: a file lacks some of the columns.
    """

    def read(columns: Sequence[str]) -> Iterator[pd.DataFrame]:
        for path in files:
            for table in parquet_batches(path, columns, batch_rows):
                yield table.to_pandas()

    return read


def parquet_batches(path: str | Path, columns: Sequence[str], batch_rows: int) -> Iterator[Any]:
    """The ``columns`` of one Parquet file as Arrow tables of at most ``batch_rows`` rows, read
    one row group at a time; a larger row group is streamed in slices.

    :raises DriftError: the file lacks some of the columns.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    if batch_rows < 1:
        raise ValueError(f"batch_rows={batch_rows} must be at least 1.")
    with pq.ParquetFile(path) as handle:
        names = handle.schema_arrow.names
        missing = [c for c in columns if c not in names]
        if missing:
            raise DriftError(
                f"{str(path)!r} lacks columns {missing}.",
                hint="Monitor only columns the data has, or fix the writer of this file.",
                details={"missing": missing, "present": names},
            )
        wanted = list(columns)
        for group in range(handle.metadata.num_row_groups):
            if handle.metadata.row_group(group).num_rows <= batch_rows:
                yield handle.read_row_group(group, columns=wanted)
                continue
            for batch in handle.iter_batches(
                batch_size=batch_rows, row_groups=[group], columns=wanted
            ):
                yield pa.Table.from_batches([batch])


def csv_source(files: Sequence[str | Path], chunk_rows: int = DEFAULT_CHUNK_ROWS) -> Source:
    """A source over CSV files, parsed ``chunk_rows`` rows at a time (only the needed columns).

    :raises ValueError: a file lacks some of the columns (pandas' message names them).
    """
    import pandas as pd

    def read(columns: Sequence[str]) -> Iterator[pd.DataFrame]:
        for path in files:
            with pd.read_csv(path, usecols=list(columns), chunksize=chunk_rows) as reader:
                yield from reader

    return read


def prefetched(chunks: Iterator[pd.DataFrame], depth: int = 2) -> Iterator[pd.DataFrame]:
    """Read the next chunks in a background thread while the caller computes on this one
    (Parquet decoding and numpy both release the GIL, so two cores are both used)."""
    buffer: queue.Queue[object] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def produce() -> None:
        try:
            for chunk in chunks:
                if stop.is_set():
                    return
                buffer.put(chunk)
            buffer.put(_DONE)
        except BaseException as error:  # handed to the consumer, raised there
            buffer.put(error)

    worker = threading.Thread(target=produce, name="drift-prefetch", daemon=True)
    worker.start()
    try:
        while (item := buffer.get()) is not _DONE:
            if isinstance(item, BaseException):
                raise item
            yield item  # type: ignore[misc]
    finally:
        stop.set()
        while worker.is_alive():
            try:
                buffer.get_nowait()
            except queue.Empty:
                worker.join(timeout=0.05)


class ParquetSink:
    """Append frames to a Parquet file that appears (atomically) only when :meth:`close` runs;
    :meth:`abort` removes the partial file. Float columns are not dictionary-encoded
    (dictionary pages on floats make reading 2-3 times slower for no space saved)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        self.writer: Any = None
        self.rows = 0

    def write(self, frame: pd.DataFrame) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        table = pa.Table.from_pandas(frame, preserve_index=False)
        if self.writer is None:
            encoded = [f.name for f in table.schema if not pa.types.is_floating(f.type)]
            self.writer = pq.ParquetWriter(self.tmp, table.schema, use_dictionary=encoded)
        self.writer.write_table(table, row_group_size=DEFAULT_CHUNK_ROWS)
        self.rows += len(frame)

    def close(self) -> Path:
        """Finish the file and move it into place.

        :raises DriftError: nothing was written.
        """
        if self.writer is None:
            raise DriftError(f"Nothing to write to {str(self.path)!r}: no rows.")
        self.writer.close()
        os.replace(self.tmp, self.path)
        return self.path

    def abort(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.tmp.unlink(missing_ok=True)


def write_parquet(chunks: Iterable[pd.DataFrame], path: str | Path) -> Path:
    """Write frames to one Parquet file atomically (see :class:`ParquetSink`)."""
    sink = ParquetSink(path)
    try:
        for frame in chunks:
            sink.write(frame)
        return sink.close()
    except BaseException:
        sink.abort()
        raise
