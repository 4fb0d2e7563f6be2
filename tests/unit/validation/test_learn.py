"""Learned suites: what they contain, that GX accepts them, and that they round-trip as JSON."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from airflow_mlops.errors import ConfigError, DataError
from airflow_mlops.validation.learn import LearnOptions, learn_suite
from airflow_mlops.validation.suite import check_with_gx, load_suite, save_suite

FRAME = pd.DataFrame(
    {
        "size": [1.0, 2.0, 3.0, None],
        "site": ["a", "b", "a", "b"],
        "label": [0, 1, 0, 1],
        "flat": [5.0, 5.0, 5.0, 5.0],
    }
)


def _by(suite: dict, kind: str, column: str | None = None, severity: str | None = None) -> dict:
    [item] = [
        e
        for e in suite["expectations"]
        if e["type"] == kind
        and (column is None or e["kwargs"].get("column") == column)
        and (severity is None or e["meta"].get("severity") == severity)
    ]
    return item


def test_learned_expectations_and_levels() -> None:
    suite = learn_suite(FRAME, name="s", options=LearnOptions(label="label", range_margin=0.5))
    columns = _by(suite, "expect_table_columns_to_match_set")
    assert columns["kwargs"]["column_set"] == list(FRAME.columns)
    assert columns["meta"]["level"] == "schema"
    skew = _by(suite, "expect_column_values_to_be_between", "size", "retrain")
    assert skew["kwargs"] == {"column": "size", "min_value": 0.0, "max_value": 4.0, "mostly": 0.99}
    assert skew["meta"]["level"] == "value"
    broken = _by(suite, "expect_column_values_to_be_between", "size", "stop")
    assert broken["kwargs"] == {"column": "size", "min_value": 0.0, "max_value": 9.0}
    assert _by(suite, "expect_column_values_to_not_be_null", "size")["kwargs"]["mostly"] == 0.7
    assert _by(suite, "expect_column_values_to_be_in_set", "site")["kwargs"]["value_set"] == [
        "a",
        "b",
    ]
    assert _by(suite, "expect_column_values_to_be_in_set", "label")["kwargs"]["value_set"] == [0, 1]
    assert _by(suite, "expect_column_to_exist", "label")["meta"]["level"] == "schema"
    row_count = _by(suite, "expect_table_row_count_to_be_between")["kwargs"]
    assert row_count == {"min_value": 1, "max_value": 40}
    stdevs = [e for e in suite["expectations"] if e["type"] == "expect_column_stdev_to_be_between"]
    assert [e["kwargs"]["column"] for e in stdevs] == ["size"]  # "flat" was constant already


def test_ranges_round_outwards() -> None:
    frame = pd.DataFrame({"x": [0.1234567891, 1.2345678912]})
    suite = learn_suite(frame, name="s", options=LearnOptions(range_margin=0))
    kwargs = _by(suite, "expect_column_values_to_be_between", "x", "retrain")["kwargs"]
    assert kwargs["min_value"] <= frame["x"].min() and kwargs["max_value"] >= frame["x"].max()


def test_suite_round_trips_and_gx_accepts_it(tmp_path: Path) -> None:
    suite = learn_suite(FRAME, name="s", options=LearnOptions(label="label"))
    path = save_suite(tmp_path / "suite.json", suite)
    assert load_suite(path) == suite
    check_with_gx(suite)


def test_refuses_empty_reference_and_missing_label() -> None:
    with pytest.raises(DataError, match="empty reference"):
        learn_suite(FRAME.head(0), name="s")
    with pytest.raises(DataError, match="'target'"):
        learn_suite(FRAME, name="s", options=LearnOptions(label="target"))


@pytest.mark.parametrize(
    "kwargs",
    [
        {"range_margin": -1},
        {"range_mostly": 1.5},
        {"hard_range_spans": -1},
        {"null_margin": 2},
        {"row_count_bounds": (2, 3)},
        {"max_categories": 0},
    ],
)
def test_learn_options_are_checked(kwargs: dict) -> None:
    with pytest.raises(ConfigError):
        LearnOptions(**kwargs)


def test_bad_suite_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_suite(tmp_path / "none.json")
    broken = tmp_path / "broken.json"
    broken.write_text('{"name": "s", "expectations": [],}')
    with pytest.raises(ConfigError, match="not valid JSON"):
        load_suite(broken)
    broken.write_text('{"name": "s", "expectations": [{"kwargs": {}}]}')
    with pytest.raises(ConfigError, match="malformed"):
        load_suite(broken)
    with pytest.raises(ConfigError, match="expect_nothing"):
        check_with_gx({"name": "s", "expectations": [{"type": "expect_nothing", "kwargs": {}}]})
