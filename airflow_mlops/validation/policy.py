"""The outcome policy: which failed expectation stops the run, which only warns or asks to retrain.

Every expectation has a *level* (``meta.level`` in the suite): ``schema`` (columns, types, row
count, nulls) or ``value`` (ranges, categories, duplicates, constant columns). A failed schema
expectation always stops the run. A failed value expectation gets the severity named in its
``meta.severity``, else an override of the policy for its type, else the policy's default.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from airflow_mlops.errors import ConfigError

#: what a failed expectation does: fail the task, warn, or warn and flag retraining
SEVERITIES = ("stop", "warn", "retrain")
LEVELS = ("schema", "value")
#: the run's outcome, worst first
OUTCOMES = ("stop", "warn", "pass")


@dataclass(frozen=True)
class ValidationPolicy:
    """How failed expectations turn into the outcome ``pass``, ``warn`` or ``stop``.

    :param value_severity: severity of a failed value-level expectation (default ``stop``).
    :param overrides: severity per expectation type (e.g.
        ``{"expect_column_values_to_be_between": "retrain"}``) for value-level expectations.
    :param max_examples: offending values quoted per failed expectation (1-20).
    """

    value_severity: str = "stop"
    overrides: Mapping[str, str] = field(default_factory=dict)
    max_examples: int = 5

    def __post_init__(self) -> None:
        _check_severity(self.value_severity, "value_severity")
        for key, value in self.overrides.items():
            if not isinstance(key, str) or not key.startswith("expect_"):
                raise ConfigError(
                    f"Policy override key {key!r} is not an expectation type.",
                    hint="Use GX expectation type names such as "
                    "'expect_column_values_to_be_in_set'.",
                )
            _check_severity(value, f"overrides[{key!r}]")
        if not isinstance(self.max_examples, int) or not 1 <= self.max_examples <= 20:
            raise ConfigError(
                f"max_examples must be an integer from 1 to 20, got {self.max_examples!r}.",
                hint="Pick how many offending values a failure message should quote.",
            )
        object.__setattr__(self, "overrides", MappingProxyType(dict(self.overrides)))

    @classmethod
    def coerce(cls, value: ValidationPolicy | Mapping[str, Any] | None) -> ValidationPolicy:
        """A policy from itself, a dict of its fields (e.g. from a DAG param), or ``None``."""
        if value is None:
            return cls()
        if isinstance(value, cls):
            return value
        if isinstance(value, Mapping):
            unknown = sorted(set(value) - {"value_severity", "overrides", "max_examples"})
            if unknown:
                raise ConfigError(
                    f"Unknown validation policy option(s) {unknown}.",
                    hint="Valid options: value_severity, overrides, max_examples.",
                )
            return cls(**value)
        raise ConfigError(
            f"A validation policy must be a ValidationPolicy or a dict, got {value!r}.",
            hint="Pass e.g. {'value_severity': 'warn'}.",
        )

    def severity_of(self, expectation_type: str, meta: Mapping[str, Any]) -> str:
        """The severity of one failed expectation, from its level and the policy."""
        level = meta.get("level", "value")
        if level not in LEVELS:
            raise ConfigError(
                f"Expectation {expectation_type} has meta.level {level!r}.",
                hint=f"Use one of {', '.join(LEVELS)} in the suite file.",
            )
        if level == "schema":
            return "stop"
        if "severity" in meta:
            return _check_severity(meta["severity"], f"meta.severity of {expectation_type}")
        return self.overrides.get(expectation_type, self.value_severity)

    def to_dict(self) -> dict[str, Any]:
        """The policy as plain JSON-able data."""
        return {
            "value_severity": self.value_severity,
            "overrides": dict(self.overrides),
            "max_examples": self.max_examples,
        }


def outcome_of(severities: list[str]) -> tuple[str, bool]:
    """The run's outcome and its retrain flag from the severities of the failed expectations."""
    if "stop" in severities:
        return "stop", "retrain" in severities
    if severities:
        return "warn", "retrain" in severities
    return "pass", False


def _check_severity(value: Any, where: str) -> str:
    if value not in SEVERITIES:
        raise ConfigError(
            f"Invalid severity {value!r} for {where}.",
            hint=f"Use one of {', '.join(SEVERITIES)}.",
        )
    return value
