"""A corpus of broken datasets derived from the demo data, each of which validation must stop.

One builder per kind of breakage; :data:`CASES` lists them with the words the failure message
must contain. The unit tests run every case through :func:`.validate.validate_dataset`, and the
reliability suite runs the same files through the whole CT DAG. Build with :func:`build_corpus`.
"""

from __future__ import annotations

import gzip
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from airflow_mlops.local.demo.dataset import LABEL, SEGMENT, breast_cancer_frame

if TYPE_CHECKING:
    import pandas as pd

#: the size limit the corpus is validated with: the gzip bomb expands to four times this
CORPUS_MAX_BYTES = 4 * 1024 * 1024
BATCH_ROWS = 200


@dataclass(frozen=True)
class CorpusCase:
    """One kind of broken data: how to write it, and what the failure message must name."""

    name: str
    build: Callable[[pd.DataFrame, Path], Path]
    expect: tuple[str, ...]


def reference_frame() -> pd.DataFrame:
    """The reference version the corpus suite is learned from (the full demo dataset)."""
    return breast_cancer_frame()


def clean_batch(reference: pd.DataFrame) -> pd.DataFrame:
    """A healthy new batch: a seeded sample of the reference."""
    return reference.sample(n=BATCH_ROWS, random_state=7).reset_index(drop=True)


def _csv(frame: pd.DataFrame, path: Path) -> Path:
    frame.to_csv(path, index=False)
    return path


def _changed(reference: pd.DataFrame, path: Path, change: Callable[[pd.DataFrame], None]) -> Path:
    batch = clean_batch(reference)
    change(batch)
    return _csv(batch, path)


def _rows(batch: pd.DataFrame, fraction: float) -> pd.Index:
    return batch.index[: int(len(batch) * fraction)]


def clean(reference: pd.DataFrame, folder: Path) -> Path:
    return _csv(clean_batch(reference), folder / "clean.csv")


def missing_column(reference: pd.DataFrame, folder: Path) -> Path:
    return _csv(clean_batch(reference).drop(columns=["mean_area"]), folder / "missing_column.csv")


def renamed_column(reference: pd.DataFrame, folder: Path) -> Path:
    batch = clean_batch(reference).rename(columns={"mean_concavity": "mean_concavity_v2"})
    return _csv(batch, folder / "renamed_column.csv")


def extra_column(reference: pd.DataFrame, folder: Path) -> Path:
    batch = clean_batch(reference)
    batch["debug_id"] = range(len(batch))
    return _csv(batch, folder / "extra_column.csv")


def wrong_dtype(reference: pd.DataFrame, folder: Path) -> Path:
    def change(batch: pd.DataFrame) -> None:
        batch["mean_radius"] = batch["mean_radius"].map(lambda v: f"{v:.2f}mm")

    return _changed(reference, folder / "wrong_dtype.csv", change)


def all_null_column(reference: pd.DataFrame, folder: Path) -> Path:
    def change(batch: pd.DataFrame) -> None:
        batch["mean_texture"] = float("nan")

    return _changed(reference, folder / "all_null_column.csv", change)


def nulls_over_threshold(reference: pd.DataFrame, folder: Path) -> Path:
    def change(batch: pd.DataFrame) -> None:
        batch.loc[_rows(batch, 0.3), "worst_area"] = float("nan")

    return _changed(reference, folder / "nulls_over_threshold.csv", change)


def out_of_range(reference: pd.DataFrame, folder: Path) -> Path:
    def change(batch: pd.DataFrame) -> None:
        batch.loc[_rows(batch, 0.05), "mean_area"] *= 100

    return _changed(reference, folder / "out_of_range.csv", change)


def negative_values(reference: pd.DataFrame, folder: Path) -> Path:
    def change(batch: pd.DataFrame) -> None:
        batch.loc[_rows(batch, 0.05), "mean_radius"] = -1.0

    return _changed(reference, folder / "negative_values.csv", change)


def unseen_category(reference: pd.DataFrame, folder: Path) -> Path:
    def change(batch: pd.DataFrame) -> None:
        batch.loc[_rows(batch, 0.05), SEGMENT] = "unknown-site"

    return _changed(reference, folder / "unseen_category.csv", change)


def unseen_label(reference: pd.DataFrame, folder: Path) -> Path:
    def change(batch: pd.DataFrame) -> None:
        batch.loc[_rows(batch, 0.05), LABEL] = 2

    return _changed(reference, folder / "unseen_label.csv", change)


def inf_values(reference: pd.DataFrame, folder: Path) -> Path:
    def change(batch: pd.DataFrame) -> None:
        batch.loc[_rows(batch, 0.02), "mean_perimeter"] = float("inf")

    return _changed(reference, folder / "inf_values.csv", change)


def constant_column(reference: pd.DataFrame, folder: Path) -> Path:
    def change(batch: pd.DataFrame) -> None:
        batch["mean_smoothness"] = 0.1

    return _changed(reference, folder / "constant_column.csv", change)


def duplicate_rows(reference: pd.DataFrame, folder: Path) -> Path:
    import pandas as pd

    batch = clean_batch(reference)
    repeated = pd.concat([batch, batch.head(int(len(batch) * 0.2))], ignore_index=True)
    return _csv(repeated, folder / "duplicate_rows.csv")


def label_missing(reference: pd.DataFrame, folder: Path) -> Path:
    return _csv(clean_batch(reference).drop(columns=[LABEL]), folder / "label_missing.csv")


def empty_file(reference: pd.DataFrame, folder: Path) -> Path:
    path = folder / "empty_file.csv"
    path.write_bytes(b"")
    return path


def header_only(reference: pd.DataFrame, folder: Path) -> Path:
    return _csv(clean_batch(reference).head(0), folder / "header_only.csv")


def truncated_row(reference: pd.DataFrame, folder: Path) -> Path:
    path = _csv(clean_batch(reference), folder / "truncated_row.csv")
    data = path.read_bytes().rstrip(b"\n")
    path.write_bytes(data[: data.rfind(b",", 0, len(data) - 200)])
    return path


def wrong_delimiter(reference: pd.DataFrame, folder: Path) -> Path:
    path = folder / "wrong_delimiter.csv"
    clean_batch(reference).to_csv(path, index=False, sep=";")
    return path


def non_utf8(reference: pd.DataFrame, folder: Path) -> Path:
    path = folder / "non_utf8.csv"
    batch = clean_batch(reference)
    batch.loc[BATCH_ROWS // 2, SEGMENT] = "nörth"
    batch.to_csv(path, index=False, encoding="latin-1")
    return path


def duplicate_column_names(reference: pd.DataFrame, folder: Path) -> Path:
    batch = clean_batch(reference)
    columns = list(batch.columns)
    columns[1] = columns[0]
    batch.columns = columns
    return _csv(batch, folder / "duplicate_column_names.csv")


def not_a_table(reference: pd.DataFrame, folder: Path) -> Path:
    path = folder / "not_a_table.csv"
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8)
    return path


def gzip_bomb(reference: pd.DataFrame, folder: Path) -> Path:
    path = folder / "gzip_bomb.csv.gz"
    header = ",".join(reference.columns).encode() + b"\n"
    row = b",".join(b"0" for _ in reference.columns) + b"\n"
    with gzip.open(path, "wb", compresslevel=9) as handle:
        handle.write(header)
        for _ in range(4 * CORPUS_MAX_BYTES // (len(row) * 1000) + 1):
            handle.write(row * 1000)
    return path


def truncated_parquet(reference: pd.DataFrame, folder: Path) -> Path:
    path = folder / "truncated_parquet.parquet"
    clean_batch(reference).to_parquet(path, index=False)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    return path


CLEAN = CorpusCase("clean", clean, ())
RANGE = "expect_column_values_to_be_between"
NULLS = "expect_column_values_to_not_be_null"
CASES: tuple[CorpusCase, ...] = (
    CorpusCase("missing_column", missing_column, ("missing columns", "mean_area")),
    CorpusCase("renamed_column", renamed_column, ("mean_concavity_v2", "mean_concavity")),
    CorpusCase("extra_column", extra_column, ("unexpected columns", "debug_id")),
    CorpusCase("wrong_dtype", wrong_dtype, ("in_type_list", "mean_radius", "mm")),
    CorpusCase("all_null_column", all_null_column, (NULLS, "mean_texture", "200 of 200")),
    CorpusCase("nulls_over_threshold", nulls_over_threshold, (NULLS, "worst_area", "60 of")),
    CorpusCase("out_of_range", out_of_range, (RANGE, "mean_area", "10 of 200")),
    CorpusCase("negative_values", negative_values, (RANGE, "mean_radius", "-1.0")),
    CorpusCase("unseen_category", unseen_category, ("in_set", "clinic", "unknown-site")),
    CorpusCase("unseen_label", unseen_label, ("in_set", LABEL, "[2, 2")),
    CorpusCase("inf_values", inf_values, (RANGE, "mean_perimeter", "'inf'")),
    CorpusCase("constant_column", constant_column, ("stdev", "mean_smoothness", "constant")),
    CorpusCase("duplicate_rows", duplicate_rows, ("compound_columns_to_be_unique", "duplicated")),
    CorpusCase("label_missing", label_missing, (LABEL, "(the label) is missing")),
    CorpusCase("empty_file", empty_file, ("is empty (0 bytes)",)),
    CorpusCase("header_only", header_only, ("no data rows",)),
    CorpusCase("truncated_row", truncated_row, ("truncated row",)),
    CorpusCase("wrong_delimiter", wrong_delimiter, ("delimited by ';'",)),
    CorpusCase("non_utf8", non_utf8, ("not valid utf-8", "latin-1")),
    CorpusCase("duplicate_column_names", duplicate_column_names, ("duplicate column names",)),
    CorpusCase("not_a_table", not_a_table, ("not a CSV file", "PNG")),
    CorpusCase("gzip_bomb", gzip_bomb, ("too large", "decompressed", "bomb")),
    CorpusCase("truncated_parquet", truncated_parquet, ("as Parquet",)),
)


def build_corpus(folder: Path, reference: pd.DataFrame | None = None) -> dict[str, Path]:
    """Write the clean batch and every broken case under ``folder``; returns name -> path."""
    reference = reference_frame() if reference is None else reference
    folder.mkdir(parents=True, exist_ok=True)
    return {case.name: case.build(reference, folder) for case in (CLEAN, *CASES)}
