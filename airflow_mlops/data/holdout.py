"""The holdout no model trains on: a deterministic split by a hash of a stable row key.

A row is held out when the hash of its key, salted and read as a number in [0, 1), falls
below the holdout fraction. The key is the row's id (``id_column``) or, without one, the row's
whole content (every column, by name, values in a canonical text form). Because the key is
the row's own, the same row lands on the same side in every data version: version 2 = version
1 plus new rows holds out exactly version 1's holdout rows plus some new ones, so no version's
model ever trained on a row another version holds out.

Consequences of content keys: an edited row (any value, the label included) is a new row and
may change sides; exact duplicate rows always share a side; adding, removing or renaming a
column re-keys every row (the rule records the columns, so the gate can see it). Give the
data an id column when rows are edited or the schema evolves. Raising the fraction only moves
rows into the holdout (a row's hash does not depend on the fraction).
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from airflow_mlops.errors import ConfigError, DataError

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

DEFAULT_HOLDOUT_FRACTION = 0.2
DEFAULT_SALT = "airflow-mlops-holdout-1"
METHOD = "blake2b-64"
#: the canonical text of a missing value (NaN, None, NA) in a content key
_MISSING = "\x00null"


@dataclass(frozen=True)
class SplitRule:
    """Which rows are held out: ``blake2b(salt, key) / 2**64 < fraction``.

    :param fraction: the share of keys held out, in (0, 1).
    :param id_column: the column whose value is the row's key; None = the row's content.
    :param salt: changes which rows are held out (every version of a model must use one salt).
    :param columns: for content keys, the columns hashed (recorded by :meth:`resolved`).
    """

    fraction: float = DEFAULT_HOLDOUT_FRACTION
    id_column: str | None = None
    salt: str = DEFAULT_SALT
    columns: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        fraction = self.fraction
        if (
            not isinstance(fraction, int | float)
            or isinstance(fraction, bool)
            or not math.isfinite(fraction)
            or not 0 < fraction < 1
        ):
            raise ConfigError(
                f"holdout_fraction={fraction!r} must be a number in (0, 1).",
                hint="Hold out a share of the rows such as 0.2.",
            )
        if self.id_column is not None and (
            not isinstance(self.id_column, str) or not self.id_column
        ):
            raise ConfigError(f"id_column={self.id_column!r}: None or a column name.")
        if self.columns is not None:
            object.__setattr__(self, "columns", tuple(sorted(self.columns)))

    @classmethod
    def from_params(cls, params: dict[str, Any] | None) -> SplitRule:
        """The rule of a model's training params (``id_column``, ``holdout_fraction``);
        missing keys take the defaults, as training did."""
        params = params or {}
        return cls(
            fraction=params.get("holdout_fraction") or DEFAULT_HOLDOUT_FRACTION,
            id_column=params.get("id_column") or None,
        )

    def resolved(self, frame: pd.DataFrame) -> SplitRule:
        """This rule with the columns a content key hashes in ``frame`` (ids: unchanged)."""
        if self.id_column is not None:
            return self
        return SplitRule(self.fraction, None, self.salt, tuple(str(c) for c in frame.columns))

    def to_lineage(self) -> str:
        """The rule as the canonical JSON of the ``mlops.split_rule`` tag."""
        payload = {"method": METHOD, **asdict(self)}
        if self.columns is not None:
            # a short digest keeps the tag small for wide tables; the count is for humans
            names = "\x1f".join(self.columns).encode("utf-8")
            payload["columns"] = {
                "count": len(self.columns),
                "md5": hashlib.md5(names, usedforsecurity=False).hexdigest(),
            }
        return json.dumps(payload, sort_keys=True, separators=(",", ":"))


def row_keys(frame: pd.DataFrame, id_column: str | None = None) -> list[str]:
    """Each row's key: its id as text, or its content (every column, sorted by name)."""
    if id_column is not None:
        if id_column not in frame.columns:
            raise DataError(
                f"id_column={id_column!r}: no such column in the data "
                f"(columns: {list(frame.columns)[:20]}).",
                hint="Set id_column to the column that identifies rows, or None.",
            )
        return [_canonical(value) for value in frame[id_column].tolist()]
    names = sorted(frame.columns, key=str)
    columns = [[_canonical(v) for v in frame[name].tolist()] for name in names]
    fields = [f"{name}=" for name in names]
    return [
        "\x1f".join(field + value for field, value in zip(fields, row, strict=True))
        for row in zip(*columns, strict=True)
    ]


def _canonical(value: Any) -> str:
    """A value's text, equal across dtypes: 3, 3.0 and "3" read from CSV give ``3``."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return _MISSING
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 2**53:
            return str(int(value))
        return repr(value)
    text = str(value)
    return _MISSING if text in ("<NA>", "NaT") else text


def hash_unit(keys: list[str], salt: str = DEFAULT_SALT) -> np.ndarray:
    """Each key's salted blake2b-64 hash as a float in [0, 1)."""
    import numpy as np

    prefix = salt.encode("utf-8") + b"\x00"
    words = [
        int.from_bytes(hashlib.blake2b(prefix + key.encode("utf-8"), digest_size=8).digest(), "big")
        for key in keys
    ]
    return np.asarray(words, dtype=np.uint64).astype(np.float64) / 2.0**64


def holdout_mask(
    frame: pd.DataFrame,
    *,
    id_column: str | None = None,
    fraction: float = DEFAULT_HOLDOUT_FRACTION,
    salt: str = DEFAULT_SALT,
) -> np.ndarray:
    """A boolean array, True for the rows of ``frame`` held out by this rule."""
    rule = SplitRule(fraction=fraction, id_column=id_column, salt=salt)
    return split_mask(frame, rule)


def split_mask(frame: pd.DataFrame, rule: SplitRule) -> np.ndarray:
    """A boolean array, True for the rows of ``frame`` that ``rule`` holds out."""
    return hash_unit(row_keys(frame, rule.id_column), rule.salt) < rule.fraction


def holdout_md5(holdout: pd.DataFrame) -> str:
    """The md5 of the held-out rows as canonical CSV (columns as given, no index)."""
    text = holdout.to_csv(index=False, lineterminator="\n")
    return hashlib.md5(text.encode("utf-8"), usedforsecurity=False).hexdigest()


@dataclass(frozen=True)
class Split:
    """One data version split by a rule: the training rows, the holdout rows, the record."""

    train: pd.DataFrame
    holdout: pd.DataFrame
    rule: SplitRule
    md5: str

    def lineage(self) -> dict[str, str]:
        """``{"split_rule", "holdout_md5", "holdout_rows"}`` as tag values."""
        return {
            "split_rule": self.rule.to_lineage(),
            "holdout_md5": self.md5,
            "holdout_rows": str(len(self.holdout)),
        }


def split(frame: pd.DataFrame, rule: SplitRule) -> Split:
    """Split ``frame`` into training and holdout rows (both keep the original order)."""
    mask = split_mask(frame, rule)
    holdout = frame[mask].reset_index(drop=True)
    return Split(
        frame[~mask].reset_index(drop=True), holdout, rule.resolved(frame), holdout_md5(holdout)
    )
