"""Read a tabular dataset (CSV or Parquet, local or ``s3://``) with clear errors."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from airflow_mlops.errors import DataError

if TYPE_CHECKING:
    import pandas as pd

TABLE_SUFFIXES = (".csv", ".csv.gz", ".parquet", ".pq")


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


def read_table(
    path: str | Path,
    *,
    columns: list[str] | None = None,
    storage_options: dict[str, Any] | None = None,
) -> pd.DataFrame:
    """Load ``path`` into a DataFrame.

    :param path: a local path or an ``s3://`` URI ending in .csv, .csv.gz, .parquet or .pq.
    :param columns: load only these columns (Parquet reads only them from disk).
    :param storage_options: fsspec options for remote paths (endpoint, credentials).
    :raises DataError: the file is missing, empty or not parseable as its format.
    """
    import pandas as pd

    location = str(path)
    kind = table_format(location)
    try:
        if kind == "parquet":
            return pd.read_parquet(location, columns=columns, storage_options=storage_options)
        return pd.read_csv(location, usecols=columns, storage_options=storage_options)
    except FileNotFoundError as error:
        raise DataError(
            f"Dataset {location!r} does not exist.",
            hint="Check the path, or that the pull task before this one succeeded.",
        ) from error
    except (ValueError, OSError, pd.errors.ParserError, UnicodeDecodeError) as error:
        raise DataError(
            f"Cannot read {location!r} as {kind}: {error}",
            hint=f"Check that the file is a complete, UTF-8 {kind} file.",
        ) from error
