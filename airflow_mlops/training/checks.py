"""Checks of the training data and the model factory that run before any training.

Each failure names the field (``label``, ``id_column``, ``task``, ``model_factory``), quotes
what was found and says what to do, so a bad dataset or config stops in seconds instead of
after a container start or a wasted training.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from airflow_mlops.errors import ConfigError, DataError

if TYPE_CHECKING:
    import pandas as pd

    from airflow_mlops.training.config import TrainingConfig

#: how many offending values an error quotes
SHOWN = 5


def check_training_data(frame: pd.DataFrame, config: TrainingConfig) -> None:
    """Refuse data that cannot train ``config``: a label column that is missing, all null or
    constant; an id column that is missing or has duplicates; a regression task on text labels.

    :raises DataError: the data does not fit the config (the message names the field).
    :raises ConfigError: ``task='regression'`` on labels that are not numbers.
    """
    if config.label not in frame.columns:
        raise DataError(
            f"label={config.label!r}: no such column in the data "
            f"(columns: {_shown(list(frame.columns), 20)}).",
            hint="Set the dataset's label to one of the listed columns.",
        )
    check_label(frame[config.label], config.task)
    if config.id_column is not None:
        check_id_column(frame, config.id_column)


def check_label(label: pd.Series, task: str | None) -> None:
    """Refuse a label that is all null or constant, or text labels for a regression task."""
    from pandas.api.types import is_bool_dtype, is_numeric_dtype

    name = label.name
    values = label.dropna()
    if values.empty:
        raise DataError(
            f"label={name!r}: every value is null ({len(label)} rows).",
            hint="Point label at the column holding the targets, or fix the data version.",
        )
    distinct = values.unique()
    if len(distinct) < 2:
        raise DataError(
            f"label={name!r}: every non-null value is {_shown(list(distinct), 1)[1:-1]}, so there "
            "is nothing to learn.",
            hint="Train on a data version with at least two label values, or fix the label.",
        )
    if task == "regression" and (is_bool_dtype(label) or not is_numeric_dtype(label)):
        raise ConfigError(
            f"task='regression' but label={name!r} holds {label.dtype} values such as "
            f"{_shown(list(distinct), SHOWN)}.",
            hint="Set task to 'binary' or 'multiclass' (or leave it unset to infer it), or "
            "convert the label to numbers.",
        )


def check_id_column(frame: pd.DataFrame, id_column: str) -> None:
    """Refuse an id column that is missing, has nulls, or repeats an id."""
    if id_column not in frame.columns:
        raise DataError(
            f"id_column={id_column!r}: no such column in the data "
            f"(columns: {_shown(list(frame.columns), 20)}).",
            hint="Set id_column to the column that identifies rows, or None.",
        )
    ids = frame[id_column]
    if ids.isna().any():
        raise DataError(
            f"id_column={id_column!r}: {int(ids.isna().sum())} rows have no id.",
            hint="Give every row an id, or set id_column to None.",
        )
    repeated = ids[ids.duplicated(keep=False)]
    if not repeated.empty:
        raise DataError(
            f"id_column={id_column!r}: {repeated.nunique()} ids occur more than once, e.g. "
            f"{_shown(list(repeated.unique()), SHOWN)}.",
            hint="Drop the duplicate rows in the data version, or name a column that is unique.",
            details={"duplicated_ids": int(repeated.nunique())},
        )


def check_model_factory(path: str | None) -> None:
    """Refuse a ``model_factory`` that does not import or is not callable (None: built-in)."""
    from airflow_mlops.training.model import resolve_factory

    resolve_factory(path)


def _shown(values: list[Any], limit: int) -> str:
    text = ", ".join(repr(v.item() if hasattr(v, "item") else v) for v in values[:limit])
    return f"[{text}{', ...' if len(values) > limit else ''}]"
