"""Chunked readers: Parquet one row group at a time (large groups in slices), CSV in chunks."""

from __future__ import annotations

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from airflow_mlops.errors import DriftError
from airflow_mlops.monitoring import sources
from airflow_mlops.monitoring.sources import csv_source, parquet_batches, parquet_source


def write_groups(frame: pd.DataFrame, path, group_rows: list[int]):
    """``frame`` as Parquet with row groups of the given sizes (in order)."""
    table = pa.Table.from_pandas(frame, preserve_index=False)
    with pq.ParquetWriter(path, table.schema) as writer:
        start = 0
        for rows in group_rows:
            writer.write_table(table.slice(start, rows), row_group_size=rows)
            start += rows
    assert pq.ParquetFile(path).metadata.num_row_groups == len(group_rows)
    return path


def test_row_groups_are_read_one_at_a_time_and_large_ones_in_slices(tmp_path, sample, monkeypatch):
    frame = sample(1_000, 3)
    path = write_groups(frame, tmp_path / "data.parquet", [100, 50, 700, 150])
    read_groups: list[int] = []
    original = pq.ParquetFile.read_row_group

    def spy(handle, group, *args, **kwargs):
        read_groups.append(group)
        return original(handle, group, *args, **kwargs)

    monkeypatch.setattr(pq.ParquetFile, "read_row_group", spy)
    columns = ["mean_radius", "clinic"]
    chunks = list(parquet_source([path], batch_rows=200)(columns))

    assert [len(c) for c in chunks] == [100, 50, 200, 200, 200, 100, 150]
    assert read_groups == [0, 1, 3]  # group 2 (700 rows) is streamed in slices instead
    pd.testing.assert_frame_equal(
        pd.concat(chunks, ignore_index=True), pd.read_parquet(path, columns=columns)
    )


def test_a_file_without_a_column_names_it(tmp_path, sample):
    path = write_groups(sample(10, 1), tmp_path / "data.parquet", [10])
    with pytest.raises(DriftError, match=r"lacks columns \['nope'\]"):
        list(parquet_batches(path, ["mean_radius", "nope"], 5))


def test_the_source_reads_the_next_group_only_when_asked(tmp_path, sample, monkeypatch):
    """A consumer that stops early leaves the rest unread: nothing is read ahead of it."""
    path = write_groups(sample(600, 4), tmp_path / "data.parquet", [100] * 6)
    read = []
    original = sources.parquet_batches

    def counting(*args, **kwargs):
        for table in original(*args, **kwargs):
            read.append(table.num_rows)
            yield table

    monkeypatch.setattr(sources, "parquet_batches", counting)
    chunks = parquet_source([path], batch_rows=100)(["mean_radius"])
    next(chunks)
    next(chunks)
    assert read == [100, 100]


def test_csv_is_read_in_bounded_chunks(tmp_path, sample):
    frame = sample(1_000, 5)
    path = tmp_path / "data.csv"
    frame.to_csv(path, index=False)
    chunks = list(csv_source([path], chunk_rows=300)(["mean_radius", "clinic"]))
    assert [len(c) for c in chunks] == [300, 300, 300, 100]
    assert pd.concat(chunks)["mean_radius"].tolist() == pytest.approx(
        frame["mean_radius"].tolist(), rel=1e-6
    )
