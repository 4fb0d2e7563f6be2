"""The holdout split: stable across data versions, leak-free, recorded for lineage."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from airflow_mlops.data.holdout import (
    SplitRule,
    holdout_mask,
    holdout_md5,
    row_keys,
    split,
)
from airflow_mlops.errors import ConfigError, DataError


def frame(rows: int, seed: int = 0, start: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "row_id": np.arange(start, start + rows),
            "x": rng.normal(size=rows).round(6),
            "site": rng.choice(["a", "b", "c"], size=rows),
            "y": rng.integers(0, 2, size=rows),
        }
    )


def versions(id_column: str | None) -> list[pd.DataFrame]:
    """v1; v2 = v1 (shuffled) plus new rows; v3 = v2 minus some rows plus new ones."""
    v1 = frame(400)
    v2 = pd.concat([v1, frame(300, seed=1, start=400)]).sample(frac=1, random_state=0)
    v3 = pd.concat([v2.iloc[50:], frame(200, seed=2, start=700)])
    if id_column is None:
        return [v.drop(columns="row_id") for v in (v1, v2, v3)]
    return [v1, v2, v3]


def keys_of(data: pd.DataFrame, rule: SplitRule) -> set[str]:
    return set(row_keys(data, rule.id_column))


@pytest.mark.parametrize("id_column", [None, "row_id"])
def test_no_version_holds_out_a_row_any_version_trained_on(id_column):
    rule = SplitRule(fraction=0.2, id_column=id_column)
    parts = [split(data, rule) for data in versions(id_column)]
    held = set().union(*(keys_of(p.holdout, rule) for p in parts))
    trained = set().union(*(keys_of(p.train, rule) for p in parts))
    assert held and trained and not held & trained
    # a row that stays keeps its side: v2's holdout is v1's holdout plus new rows
    assert keys_of(parts[0].holdout, rule) <= keys_of(parts[1].holdout, rule)
    for part, data in zip(parts, versions(id_column), strict=True):
        assert len(part.train) + len(part.holdout) == len(data)
        assert 0.15 < len(part.holdout) / len(data) < 0.25


def test_content_keys_ignore_column_order_and_integer_valued_floats():
    data = frame(50).drop(columns="row_id")
    reordered = data[["y", "site", "x"]]
    as_float = data.assign(y=data["y"].astype(float))
    assert row_keys(data) == row_keys(reordered) == row_keys(as_float)
    assert np.array_equal(holdout_mask(data), holdout_mask(as_float))


def test_an_edited_row_is_a_new_row_under_content_keys_not_under_ids():
    data = frame(200)
    edited = data.copy()
    edited.loc[:, "x"] += 1.0
    assert not set(row_keys(data.drop(columns="row_id"))) & set(
        row_keys(edited.drop(columns="row_id"))
    )
    mask = holdout_mask(data, id_column="row_id")
    assert np.array_equal(mask, holdout_mask(edited, id_column="row_id"))


def test_raising_the_fraction_only_adds_rows_to_the_holdout():
    data = frame(500)
    small = holdout_mask(data, fraction=0.1)
    large = holdout_mask(data, fraction=0.3)
    assert small.sum() < large.sum() and not (small & ~large).any()


def test_the_salt_changes_which_rows_are_held_out():
    data = frame(500)
    assert not np.array_equal(holdout_mask(data), holdout_mask(data, salt="other"))


def test_the_record_names_the_rule_and_the_holdout_md5():
    data = frame(300)
    part = split(data, SplitRule(fraction=0.25, id_column="row_id"))
    record = part.lineage()
    assert json.loads(record["split_rule"]) == {
        "method": "blake2b-64",
        "fraction": 0.25,
        "id_column": "row_id",
        "salt": "airflow-mlops-holdout-1",
        "columns": None,
    }
    assert record["holdout_md5"] == holdout_md5(part.holdout) == part.md5
    assert record["holdout_rows"] == str(len(part.holdout))
    content = split(data.drop(columns="row_id"), SplitRule()).lineage()["split_rule"]
    assert json.loads(content)["columns"]["count"] == 3
    # the same rows in another order are another table: the md5 is of the rows as given
    assert split(data.iloc[::-1], SplitRule(0.25, "row_id")).md5 != part.md5


def test_rule_from_training_params_uses_the_training_defaults():
    assert SplitRule.from_params({"epochs": 3}) == SplitRule()
    assert SplitRule.from_params({"id_column": "row_id", "holdout_fraction": 0.3}) == SplitRule(
        0.3, "row_id"
    )


@pytest.mark.parametrize("fraction", [0, 1, -0.1, float("nan"), "0.2", True])
def test_a_fraction_outside_0_1_is_refused(fraction):
    with pytest.raises(ConfigError, match="holdout_fraction="):
        SplitRule(fraction=fraction)


def test_a_missing_id_column_is_refused():
    with pytest.raises(DataError, match="id_column='patient'"):
        holdout_mask(frame(10), id_column="patient")
