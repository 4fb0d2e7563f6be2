"""read_table: good tables load; each kind of bad file gets a DataError that names the problem."""

from __future__ import annotations

import gzip
from pathlib import Path

import pandas as pd
import pytest

from airflow_mlops.data.io import read_table, table_format
from airflow_mlops.errors import DataError

FRAME = pd.DataFrame({"a": [1.0, 2.5, 3.0], "b": ["x", "y", "z"], "c": [1, 0, 1]})


def _csv(tmp_path: Path, text: str | bytes, name: str = "t.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode() if isinstance(text, str) else text)
    return path


@pytest.mark.parametrize("name", ["t.csv", "t.csv.gz", "t.parquet", "t.pq"])
def test_reads_every_supported_format(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    if "parquet" in name or name.endswith(".pq"):
        FRAME.to_parquet(path, index=False)
    else:
        FRAME.to_csv(path, index=False)
    pd.testing.assert_frame_equal(read_table(path), FRAME)
    assert list(read_table(path, columns=["b"]).columns) == ["b"]


def test_unknown_extension_is_refused() -> None:
    with pytest.raises(DataError, match=r"\.csv, \.csv\.gz"):
        table_format("data.xlsx")


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="does not exist"):
        read_table(tmp_path / "nope.csv")


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (b"", r"empty \(0 bytes\)"),
        (b"a,b,c\n", "no data rows"),
        (b"\n\n", "no header line"),
        (b"a,b,c\n1,2,3\n4,5", "truncated row: 2 of 3 fields"),
        (b"a;b;c\n1;2;3\n", "delimited by ';'"),
        (b"a\tb\tc\n1\t2\t3\n", r"delimited by '\\t'"),
        (b"a,b,c\n1,x\xe9,3\n", "not valid utf-8"),
        (b"a,a,b\n1,2,3\n", r"duplicate column names: \['a'\]"),
        (b"a,b\n1,2,3,4\n", "more fields than the header"),
        (b"PK\x03\x04rest-of-a-zip", "ZIP archive"),
        (b"\x1f\x8b\x08\x00gz", "gzip-compressed data"),
        (b"PAR1....PAR1", "Parquet file"),
        (b"a,b\x00\x01\x02", "binary data"),
    ],
)
def test_bad_csv_files_get_clear_errors(tmp_path: Path, content: bytes, words: str) -> None:
    with pytest.raises(DataError, match=words):
        read_table(_csv(tmp_path, content))


def test_header_only_can_be_allowed(tmp_path: Path) -> None:
    frame = read_table(_csv(tmp_path, "a,b\n"), allow_empty=True)
    assert frame.empty and list(frame.columns) == ["a", "b"]


def test_other_encoding_can_be_named(tmp_path: Path) -> None:
    path = _csv(tmp_path, "city\nZ\xfcrich\n".encode("latin-1"))
    assert read_table(path, encoding="latin-1")["city"].tolist() == ["Zürich"]


def test_last_row_without_newline_is_not_truncated(tmp_path: Path) -> None:
    assert len(read_table(_csv(tmp_path, "a,b\n1,2\n3,4"))) == 2


def test_size_limit_on_plain_files(tmp_path: Path) -> None:
    path = _csv(tmp_path, "a\n" + "1\n" * 1000)
    with pytest.raises(DataError, match=r"too large.*limit of 100 bytes"):
        read_table(path, max_bytes=100)


def test_gzip_bomb_is_stopped_while_decompressing(tmp_path: Path) -> None:
    path = tmp_path / "bomb.csv.gz"
    with gzip.open(path, "wb") as handle:
        handle.write(b"a,b\n" + b"0,0\n" * 2_000_000)
    assert path.stat().st_size < 100_000
    with pytest.raises(DataError, match="decompressed content exceeds"):
        read_table(path, max_bytes=1_000_000)


def test_size_limit_from_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRFLOW_MLOPS_MAX_TABLE_BYTES", "10")
    with pytest.raises(DataError, match="AIRFLOW_MLOPS_MAX_TABLE_BYTES"):
        read_table(_csv(tmp_path, "a,b\n1,2\n3,4\n"))


def test_damaged_gzip(tmp_path: Path) -> None:
    data = gzip.compress(b"a,b\n" + b"1,2\n" * 1000)
    with pytest.raises(DataError, match="Cannot decompress"):
        read_table(_csv(tmp_path, data[: len(data) // 2], name="t.csv.gz"))


def test_parquet_problems(tmp_path: Path) -> None:
    path = tmp_path / "t.parquet"
    pd.DataFrame({"zeros": [0.0] * 100_000}).to_parquet(path, index=False)
    assert path.stat().st_size < 10_000
    with pytest.raises(DataError, match="uncompressed content exceeds"):
        read_table(path, max_bytes=100_000)
    FRAME.to_parquet(path, index=False)
    path.write_bytes(path.read_bytes()[:100])
    with pytest.raises(DataError, match="as Parquet"):
        read_table(path)
    csv_named_parquet = _csv(tmp_path, "a,b\n1,2\n", name="x.parquet")
    with pytest.raises(DataError, match="not a Parquet file"):
        read_table(csv_named_parquet)


def test_a_wide_header_is_read_whole(tmp_path: Path) -> None:
    names = [f"c{i}" for i in range(20_000)]  # about 130 KB, twice the sniffed prefix
    path = _csv(tmp_path, ",".join(names) + "\n" + ",".join("1" * len(names)) + "\n")
    assert list(read_table(path).columns) == names


def test_a_duplicate_past_the_first_64_kib_is_refused(tmp_path: Path) -> None:
    names = [f"c{i}" for i in range(20_000)] + ["c7"]
    path = _csv(tmp_path, ",".join(names) + "\n" + ",".join("1" * len(names)) + "\n")
    with pytest.raises(DataError, match=r"duplicate column names: \['c7'\]"):
        read_table(path)
