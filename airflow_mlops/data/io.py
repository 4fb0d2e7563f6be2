"""Read a tabular dataset (CSV or Parquet, local or ``s3://``) with clear errors.

Bad files are refused before or right after parsing, each with a message that names the
problem: a size limit (also on the decompressed size of ``.csv.gz`` files, against gzip
bombs), non-table files (binary, compressed or Parquet bytes behind a ``.csv`` name), empty
files, header-only files, bytes that are not in the expected encoding, a truncated last row,
a wrong delimiter, and duplicate column names (which pandas would silently rename).
"""

from __future__ import annotations

import csv
import gzip
import io
import os
import zlib
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from airflow_mlops.errors import DataError

if TYPE_CHECKING:
    import pandas as pd

TABLE_SUFFIXES = (".csv", ".csv.gz", ".parquet", ".pq")
#: the default size limit, in bytes, on a file and on its decompressed content
MAX_BYTES_ENV = "AIRFLOW_MLOPS_MAX_TABLE_BYTES"
DEFAULT_MAX_BYTES = 4 * 1024**3
_SNIFF_BYTES = 64 * 1024
_OTHER_DELIMITERS = (";", "\t", "|")
#: leading bytes of files that are certainly not CSV text
_MAGIC = {
    b"PAR1": "a Parquet file",
    b"\x1f\x8b": "gzip-compressed data",
    b"PK\x03\x04": "a ZIP archive (or an Excel .xlsx file)",
    b"\x89PNG": "a PNG image",
    b"%PDF": "a PDF document",
    b"\xd0\xcf\x11\xe0": "an old Excel/Office document",
    b"\x7fELF": "an executable",
    b"BZh": "bzip2-compressed data",
    b"\xfd7zXZ": "xz-compressed data",
}


def table_format(path: str) -> str:
    """``"csv"`` or ``"parquet"`` from the file name; :class:`DataError` for anything else."""
    name = path.lower()
    if name.endswith((".csv", ".csv.gz")):
        return "csv"
    if name.endswith((".parquet", ".pq")):
        return "parquet"
    raise DataError(
        f"Cannot tell the format of {path!r}: expected one of {', '.join(TABLE_SUFFIXES)}.",
        hint="Rename the file with its real extension or convert it to CSV or Parquet.",
    )


def default_max_bytes() -> int:
    """The size limit from ``AIRFLOW_MLOPS_MAX_TABLE_BYTES``, else 4 GiB."""
    value = os.environ.get(MAX_BYTES_ENV, "")
    return int(value) if value.strip().isdigit() else DEFAULT_MAX_BYTES


def read_table(
    path: str | Path,
    *,
    columns: list[str] | None = None,
    storage_options: dict[str, Any] | None = None,
    max_bytes: int | None = None,
    encoding: str = "utf-8",
    allow_empty: bool = False,
) -> pd.DataFrame:
    """Load ``path`` into a DataFrame.

    :param path: a local path or an ``s3://`` URI ending in .csv, .csv.gz, .parquet or .pq.
    :param columns: load only these columns (Parquet reads only them from disk).
    :param storage_options: fsspec options for remote paths (endpoint, credentials).
    :param max_bytes: refuse files (and decompressed ``.csv.gz`` or Parquet content) larger
        than this; default :func:`default_max_bytes`.
    :param encoding: the text encoding of CSV files.
    :param allow_empty: return a header-only table instead of raising :class:`DataError`.
    :raises DataError: the file is missing, too large, empty, not a table of its format, or
        malformed (bad bytes, truncated row, wrong delimiter, duplicate column names).
    """
    location = str(path)
    kind = table_format(location)
    limit = default_max_bytes() if max_bytes is None else max_bytes
    try:
        with _open(location, storage_options) as handle:
            size = _size_of(handle)
            if size is not None and size > limit:
                raise _too_large(location, size, limit, "file")
            if size == 0:
                raise DataError(
                    f"Dataset {location!r} is empty (0 bytes).",
                    hint="The upstream export wrote nothing; re-run it or pick another revision.",
                )
            if kind == "parquet":
                frame = _read_parquet(handle, location, columns, limit)
            else:
                frame = _read_csv(handle, location, columns, limit, encoding)
    except FileNotFoundError as error:
        raise DataError(
            f"Dataset {location!r} does not exist.",
            hint="Check the path, or that the pull task before this one succeeded.",
        ) from error
    except PermissionError as error:
        raise DataError(
            f"Access to dataset {location!r} was refused: {error}",
            hint="Check the credentials of the connection (aws_conn_id) and the file permissions.",
        ) from error
    if frame.empty and len(frame.columns) and not allow_empty:
        raise DataError(
            f"Dataset {location!r} has a header ({len(frame.columns)} columns) but no data rows.",
            hint="The upstream export stopped after the header; re-run it.",
        )
    return frame


def _open(location: str, storage_options: dict[str, Any] | None) -> Any:
    """A binary file object: plain ``open`` for local paths, fsspec for URLs (``s3://``)."""
    if "://" not in location:
        return open(location, "rb")  # the caller's with-block closes it
    import fsspec

    return fsspec.open(location, "rb", **(storage_options or {}))


def _size_of(handle: Any) -> int | None:
    size = getattr(handle, "size", None)
    if isinstance(size, int):
        return size
    try:
        return os.fstat(handle.fileno()).st_size
    except (AttributeError, OSError, io.UnsupportedOperation):
        return None


def _too_large(location: str, size: int, limit: int, what: str) -> DataError:
    return DataError(
        f"Dataset {location!r} is too large: its {what} exceeds the limit of {limit:,} bytes "
        f"(at least {size:,} bytes).",
        hint=f"Raise the limit (max_bytes, or the {MAX_BYTES_ENV} variable) if the size is "
        "expected; a small .gz that expands this much is likely a decompression bomb.",
    )


def _read_parquet(
    handle: IO[bytes], location: str, columns: list[str] | None, limit: int
) -> pd.DataFrame:
    import pyarrow as pa
    import pyarrow.parquet as pq

    head = handle.read(4)
    handle.seek(0)
    if head != b"PAR1":
        raise _not_a_table(location, "Parquet", head)
    try:
        parquet = pq.ParquetFile(handle)
        expanded = _decoded_size(parquet)
        if expanded > limit:
            raise _too_large(location, expanded, limit, "uncompressed content")
        names = parquet.schema_arrow.names
        _refuse_duplicates(location, names)
        return parquet.read(columns=columns).to_pandas()
    except (pa.ArrowException, OSError, ValueError, KeyError) as error:
        raise DataError(
            f"Cannot read {location!r} as Parquet: {error}",
            hint="Check that the file is complete (a cut-off upload loses the footer) and "
            "that the requested columns exist.",
        ) from error


def _decoded_size(parquet: Any) -> int:
    """Bytes the table takes once decoded: fixed-width columns by row count (run-length and
    dictionary encoding shrink them arbitrarily on disk), the others by their page sizes."""
    meta = parquet.metadata
    fixed = 0
    for field in parquet.schema_arrow:
        try:
            fixed += field.type.bit_width // 8
        except ValueError:  # variable width (strings, binary, nested)
            continue
    paged = sum(meta.row_group(i).total_byte_size for i in range(meta.num_row_groups))
    return meta.num_rows * fixed + paged


def _read_csv(
    handle: IO[bytes], location: str, columns: list[str] | None, limit: int, encoding: str
) -> pd.DataFrame:
    import pandas as pd

    head = handle.read(_SNIFF_BYTES)
    source: IO[bytes]
    if location.lower().endswith(".gz"):
        if not head.startswith(b"\x1f\x8b"):
            raise _not_a_table(location, "gzip-compressed CSV", head)
        handle.seek(0)
        source = io.BytesIO(_gunzip_bounded(handle, location, limit))
    else:
        if b"\x00" in head or any(head.startswith(magic) for magic in _MAGIC):
            raise _not_a_table(location, "CSV", head)
        source = handle
    source.seek(0)
    header = _read_header(source, location, encoding)
    if not header or not any(name.strip() for name in header):
        raise DataError(
            f"Dataset {location!r} has no header line (the first line is blank).",
            hint="Write the column names on the first line of the CSV.",
        )
    _refuse_duplicates(location, header)
    source.seek(0)
    try:
        frame = pd.read_csv(source, usecols=columns, encoding=encoding)
    except UnicodeDecodeError as error:
        raise _bad_encoding(location, encoding, error) from error
    except (ValueError, pd.errors.ParserError) as error:
        raise DataError(
            f"Cannot parse {location!r} as CSV: {error}",
            hint="A row has more fields than the header: check quoting and the delimiter.",
        ) from error
    if not isinstance(frame.index, pd.RangeIndex):
        # pandas turns the surplus leading fields of over-long rows into an index, silently
        raise DataError(
            f"Cannot parse {location!r} as CSV: rows have more fields than the "
            f"{len(header)}-column header.",
            hint="A row has more fields than the header: check quoting and the delimiter.",
        )
    if len(header) == 1:
        _refuse_other_delimiter(location, header[0])
    source.seek(0, io.SEEK_END)
    source.seek(max(0, source.tell() - _SNIFF_BYTES))
    _refuse_truncated_tail(location, source.read(), encoding, len(header))
    return frame


def _read_header(source: IO[bytes], location: str, encoding: str) -> list[str]:
    """The whole header record, however long: a prefix would cut a wide header's last name
    short (a false duplicate) and miss names past it (real duplicates pandas renames)."""
    text = io.TextIOWrapper(source, encoding=encoding, newline="")
    try:
        return next(csv.reader(text), [])
    except UnicodeDecodeError as error:
        raise _bad_encoding(location, encoding, error) from error
    except csv.Error as error:
        raise DataError(
            f"Cannot parse the header line of {location!r}: {error}.",
            hint="Column names longer than 128 KiB or an unclosed quote: check the export.",
        ) from error
    finally:
        text.detach()


def _gunzip_bounded(handle: IO[bytes], location: str, limit: int) -> bytes:
    """Decompress at most ``limit`` bytes; a larger expansion is refused as a bomb."""
    chunks, total = [], 0
    try:
        with gzip.GzipFile(fileobj=handle) as stream:
            while chunk := stream.read(1024 * 1024):
                total += len(chunk)
                if total > limit:
                    raise _too_large(location, total, limit, "decompressed content")
                chunks.append(chunk)
    except (OSError, EOFError, zlib.error) as error:
        raise DataError(
            f"Cannot decompress {location!r}: {error}",
            hint="The .gz file is damaged or cut off; upload it again.",
        ) from error
    return b"".join(chunks)


def _bad_encoding(location: str, encoding: str, error: UnicodeDecodeError) -> DataError:
    bad = error.object[error.start : error.start + 8] if error.object else b""
    return DataError(
        f"Dataset {location!r} is not valid {encoding}: byte {bad[:1]!r} at position "
        f"{error.start} (near {bad!r}).",
        hint="Re-export the file as UTF-8, or pass its real encoding (e.g. encoding='latin-1').",
    )


def _not_a_table(location: str, expected: str, head: bytes) -> DataError:
    found = next((what for magic, what in _MAGIC.items() if head.startswith(magic)), None)
    if found is None:
        found = "binary data" if b"\x00" in head else f"bytes starting with {head[:16]!r}"
    return DataError(
        f"Dataset {location!r} is not a {expected} file: it contains {found}.",
        hint="Check that the right file was uploaded, and that its extension matches its "
        "format (.csv, .csv.gz, .parquet).",
    )


def _refuse_duplicates(location: str, names: list[str]) -> None:
    seen: set[str] = set()
    duplicates = sorted({name for name in names if name in seen or seen.add(name)})
    if duplicates:
        raise DataError(
            f"Dataset {location!r} has duplicate column names: {duplicates}.",
            hint="Rename or drop the repeated columns in the export; each name must be unique.",
        )


def _refuse_other_delimiter(location: str, header: str) -> None:
    for delimiter in _OTHER_DELIMITERS:
        if delimiter in header:
            raise DataError(
                f"Dataset {location!r} looks delimited by {delimiter!r}, not by commas: its "
                f"header parsed as one column {header[:80]!r}.",
                hint="Export the file with comma delimiters.",
            )


def _refuse_truncated_tail(location: str, tail: bytes, encoding: str, fields: int) -> None:
    """A file cut off mid-row ends with a row that has fewer fields than the header."""
    lines = tail.rstrip(b"\r\n").rsplit(b"\n", 1)
    if len(lines) < 2 or not lines[-1]:
        return
    last = lines[-1]
    row = next(csv.reader([last.decode(encoding, errors="replace")]), [])
    if 0 < len(row) < fields:
        raise DataError(
            f"Dataset {location!r} ends with a truncated row: {len(row)} of {fields} fields "
            f"in {last[:80].decode(encoding, errors='replace')!r}.",
            hint="The file was cut off during export or upload; copy it again.",
        )
