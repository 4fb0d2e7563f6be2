"""The outcome policy: a frozen, self-checking config; schema failures always stop."""

from __future__ import annotations

import dataclasses

import pytest

from airflow_mlops.errors import ConfigError
from airflow_mlops.validation.policy import ValidationPolicy, outcome_of

RANGE = "expect_column_values_to_be_between"


def test_schema_failures_always_stop() -> None:
    policy = ValidationPolicy(value_severity="warn", overrides={RANGE: "retrain"})
    assert policy.severity_of(RANGE, {"level": "schema", "severity": "warn"}) == "stop"


def test_value_severity_comes_from_meta_then_overrides_then_default() -> None:
    policy = ValidationPolicy(value_severity="warn", overrides={RANGE: "retrain"})
    assert policy.severity_of(RANGE, {"level": "value", "severity": "stop"}) == "stop"
    assert policy.severity_of(RANGE, {"level": "value"}) == "retrain"
    assert policy.severity_of("expect_column_values_to_be_in_set", {}) == "warn"
    assert ValidationPolicy().severity_of(RANGE, {}) == "stop"


@pytest.mark.parametrize(
    ("severities", "expected"),
    [
        ([], ("pass", False)),
        (["warn"], ("warn", False)),
        (["warn", "retrain"], ("warn", True)),
        (["retrain", "stop"], ("stop", True)),
    ],
)
def test_outcome_of(severities: list[str], expected: tuple[str, bool]) -> None:
    assert outcome_of(severities) == expected


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        ({"value_severity": "fail"}, "'fail'"),
        ({"overrides": {"not_an_expectation": "warn"}}, "not_an_expectation"),
        ({"overrides": {RANGE: "ignore"}}, "'ignore'"),
        ({"max_examples": 0}, "1 to 20"),
    ],
)
def test_invalid_policies_are_refused_on_creation(kwargs: dict, words: str) -> None:
    with pytest.raises(ConfigError, match=words):
        ValidationPolicy(**kwargs)


def test_policy_is_frozen_and_coerces_from_dicts() -> None:
    policy = ValidationPolicy.coerce({"value_severity": "retrain"})
    assert policy.value_severity == "retrain"
    assert ValidationPolicy.coerce(None) == ValidationPolicy()
    assert ValidationPolicy.coerce(policy) is policy
    with pytest.raises(dataclasses.FrozenInstanceError):
        policy.value_severity = "warn"  # type: ignore[misc]
    with pytest.raises(TypeError):
        policy.overrides["x"] = "warn"  # type: ignore[index]
    with pytest.raises(ConfigError, match="typo"):
        ValidationPolicy.coerce({"typo": 1})
    assert ValidationPolicy.coerce(policy.to_dict()) == policy


def test_bad_level_in_a_suite_is_reported() -> None:
    with pytest.raises(ConfigError, match="'table'"):
        ValidationPolicy().severity_of(RANGE, {"level": "table"})
