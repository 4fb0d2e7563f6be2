"""Learn an expectation suite from a reference dataset version.

The learned suite is a plain GX suite (:mod:`.suite`): the column set, each column's type family
and null fraction (``schema`` level), numeric ranges with a margin, non-constant numeric
columns, category sets, a duplicate-row limit (``value`` level) and row-count bounds. A person
reviews the saved JSON, edits it, and passes it back as the suite to validate against.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from airflow_mlops.errors import ConfigError, DataError

if TYPE_CHECKING:
    import pandas as pd

FLOAT_TYPES = ["float16", "float32", "float64"]
INT_TYPES = ["int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64"]
TEXT_TYPES = ["object", "str", "string", "StringDtype"]


@dataclass(frozen=True)
class LearnOptions:
    """How loosely the learned expectations fit the reference data.

    :param label: the label column: it must exist and keep its classes.
    :param range_margin: numeric ranges widened by this fraction of the observed span.
    :param range_mostly: fraction of values that must fall in that range; a larger share
        outside it is value skew (severity ``retrain`` in the learned file).
    :param hard_range_spans: values further than this many spans outside the observed range
        (or negative in a column that never was) are broken data (severity ``stop``).
    :param null_margin: tolerated rise of a column's null fraction over the reference.
    :param max_categories: a text column with more distinct values gets no category set.
    :param row_count_bounds: accepted row count as factors of the reference row count.
    :param max_duplicate_fraction: tolerated fraction of rows that have an identical twin
        (both copies count, as in GX). Sampling with replacement gives a few percent.
    """

    label: str | None = None
    range_margin: float = 0.1
    range_mostly: float = 0.99
    hard_range_spans: float = 3.0
    null_margin: float = 0.05
    max_categories: int = 50
    row_count_bounds: tuple[float, float] = (0.1, 10.0)
    max_duplicate_fraction: float = 0.2

    def __post_init__(self) -> None:
        if not isinstance(self.hard_range_spans, int | float) or self.hard_range_spans < 0:
            raise ConfigError(
                f"LearnOptions.hard_range_spans must be a number >= 0, got "
                f"{self.hard_range_spans!r}.",
                hint="E.g. 3.0: values three spans beyond the reference range are broken data.",
            )
        for name in ("range_margin", "range_mostly", "null_margin", "max_duplicate_fraction"):
            value = getattr(self, name)
            if not isinstance(value, int | float) or not 0 <= value <= 1:
                raise ConfigError(
                    f"LearnOptions.{name} must be a number from 0 to 1, got {value!r}.",
                    hint="Give a fraction, e.g. 0.05 for 5 %.",
                )
        low, high = self.row_count_bounds
        if not 0 <= low <= 1 <= high:
            raise ConfigError(
                f"LearnOptions.row_count_bounds must be (low <= 1, high >= 1), got "
                f"{self.row_count_bounds!r}.",
                hint="E.g. (0.1, 10.0) accepts a tenth to ten times the reference rows.",
            )
        if self.max_categories < 1:
            raise ConfigError(
                f"LearnOptions.max_categories must be at least 1, got {self.max_categories!r}.",
                hint="E.g. 50.",
            )


def _expectation(kind: str, level: str, note: str, **kwargs: Any) -> dict[str, Any]:
    return {"type": kind, "kwargs": kwargs, "meta": {"level": level, "notes": note}}


def learn_suite(
    frame: pd.DataFrame, *, name: str, options: LearnOptions | None = None
) -> dict[str, Any]:
    """A suite describing ``frame`` (the reference version), loose enough for new batches.

    :raises DataError: the reference is empty, or the label column is missing.
    """
    import pandas as pd

    options = options or LearnOptions()
    rows = len(frame)
    if rows == 0:
        raise DataError(
            f"Cannot learn suite {name!r} from an empty reference dataset.",
            hint="Learn from a reference version that has rows.",
        )
    if options.label is not None and options.label not in frame.columns:
        raise DataError(
            f"Cannot learn suite {name!r}: the label column {options.label!r} is not in the "
            f"reference ({list(frame.columns)[:10]}...).",
            hint="Pass the right label name, or a reference that has the label.",
        )
    low, high = options.row_count_bounds
    expectations = [
        _expectation(
            "expect_table_columns_to_match_set",
            "schema",
            "no column may be missing or added",
            column_set=[str(c) for c in frame.columns],
            exact_match=True,
        ),
        _expectation(
            "expect_table_row_count_to_be_between",
            "schema",
            f"reference had {rows} rows",
            min_value=max(1, math.floor(rows * low)),
            max_value=math.ceil(rows * high),
        ),
    ]
    if options.label is not None:
        expectations.append(
            _expectation(
                "expect_column_to_exist", "schema", "the label column", column=options.label
            )
        )
    for column in frame.columns:
        series = frame[column]
        expectations += _column_expectations(str(column), series, options, pd)
    if options.max_duplicate_fraction < 1 and len(frame.columns) > 1:
        expectations.append(
            _expectation(
                "expect_compound_columns_to_be_unique",
                "value",
                f"at most {options.max_duplicate_fraction:.0%} duplicated rows",
                column_list=[str(c) for c in frame.columns],
                mostly=round(1 - options.max_duplicate_fraction, 6),
            )
        )
    return {
        "name": name,
        "expectations": expectations,
        "meta": {"learned_from_rows": rows, "learn_options": _options_dict(options)},
    }


def _column_expectations(
    column: str, series: pd.Series, options: LearnOptions, pd: Any
) -> list[dict[str, Any]]:
    is_label = column == options.label
    nonnull = 1 - float(series.isna().mean())
    learned = [
        _expectation(
            "expect_column_values_to_not_be_null",
            "schema",
            f"reference non-null fraction {nonnull:.4f}",
            column=column,
            mostly=round(max(0.0, nonnull - options.null_margin), 6),
        )
    ]
    kind = series.dtype
    numeric = pd.api.types.is_numeric_dtype(kind) and not pd.api.types.is_bool_dtype(kind)
    if pd.api.types.is_float_dtype(kind):
        type_list = FLOAT_TYPES + INT_TYPES
    elif numeric:
        type_list = INT_TYPES
    elif pd.api.types.is_bool_dtype(kind):
        type_list = ["bool", "boolean"]
    else:
        type_list = TEXT_TYPES
    # GX 1.24 matches no type name against a pandas categorical dtype (it compares with an
    # empty CategoricalDtype()); the category set below checks such columns instead
    if not isinstance(kind, pd.CategoricalDtype):
        learned.append(
            _expectation(
                "expect_column_values_to_be_in_type_list",
                "schema",
                f"reference dtype {kind}",
                column=column,
                type_list=type_list,
            )
        )
    values = series.dropna()
    if numeric and not is_label and len(values):
        learned += _range_expectations(column, values, options)
    elif (is_label or not numeric) and 0 < values.nunique() <= options.max_categories:
        categories = sorted(values.unique().tolist(), key=str)
        learned.append(
            _expectation(
                "expect_column_values_to_be_in_set",
                "value",
                f"{len(categories)} values seen in the reference",
                column=column,
                value_set=[c.item() if hasattr(c, "item") else c for c in categories],
            )
        )
    return learned


def _range_expectations(
    column: str, values: pd.Series, options: LearnOptions
) -> list[dict[str, Any]]:
    low, high = float(values.min()), float(values.max())
    span = high - low
    margin = span * options.range_margin
    soft_low, hard_low = low - margin, low - span * options.hard_range_spans
    if low >= 0:
        soft_low, hard_low = max(0.0, soft_low), 0.0
    hard = _expectation(
        "expect_column_values_to_be_between",
        "value",
        f"broken values: below {'zero' if low >= 0 else 'the plausible range'} or "
        f"{options.hard_range_spans:g} spans beyond the reference range [{low:.6g}, {high:.6g}]",
        column=column,
        min_value=_round(hard_low, up=False),
        max_value=_round(high + span * options.hard_range_spans, up=True),
    )
    hard["meta"]["severity"] = "stop"
    soft = _expectation(
        "expect_column_values_to_be_between",
        "value",
        f"value skew: reference range [{low:.6g}, {high:.6g}] widened by "
        f"{options.range_margin:.0%}, at least {options.range_mostly:.0%} of values inside",
        column=column,
        min_value=_round(soft_low, up=False),
        max_value=_round(high + margin, up=True),
        mostly=options.range_mostly,
    )
    soft["meta"]["severity"] = "retrain"
    learned = [hard, soft]
    if high > low:
        learned.append(
            _expectation(
                "expect_column_stdev_to_be_between",
                "value",
                "the column varied in the reference; a constant column is a broken feed",
                column=column,
                min_value=0,
                strict_min=True,
            )
        )
    return learned


def _round(value: float, *, up: bool) -> float:
    """``value`` at 6 significant digits, rounded outwards so the bound still holds."""
    if value == 0 or not math.isfinite(value):
        return value
    scale = 10.0 ** (5 - math.floor(math.log10(abs(value))))
    return (math.ceil if up else math.floor)(value * scale) / scale


def _options_dict(options: LearnOptions) -> dict[str, Any]:
    return {
        "label": options.label,
        "range_margin": options.range_margin,
        "range_mostly": options.range_mostly,
        "hard_range_spans": options.hard_range_spans,
        "null_margin": options.null_margin,
        "max_categories": options.max_categories,
        "row_count_bounds": list(options.row_count_bounds),
        "max_duplicate_fraction": options.max_duplicate_fraction,
    }
