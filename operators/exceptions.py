"""Exceptions raised by the operators: ``AirflowException`` subclasses carrying a payload."""

from __future__ import annotations

from typing import Any

from airflow.exceptions import AirflowException
from airflow.sdk.exceptions import AirflowFailException

from airflow_mlops.errors import ConfigError, DataValidationError, MlopsError

#: ``details["kind"]`` of core errors that a retry would raise again
FINAL_KINDS = frozenset({"unknown_revision"})


def fails_again(error: MlopsError) -> bool:
    """Whether a retry would fail the same way: bad input (``ConfigError``), a dataset that
    failed its suite, or a revision the data registry does not have."""
    return (
        isinstance(error, (ConfigError, DataValidationError))
        or error.details.get("kind") in FINAL_KINDS
    )


class MlopsTaskError(AirflowException):
    """A task of airflow-mlops failed; ``details`` holds the failed checks or the log tail.

    :param message: what went wrong and what to do.
    :param details: a small JSON-able payload describing the failure.
    """

    def __init__(self, message: str, *, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.details = details or {}

    @classmethod
    def from_core(cls, error: MlopsError) -> MlopsTaskError:
        """Wrap a core error, keeping its message, hint and details."""
        return cls(str(error), details=error.details)


class DvcSensorError(MlopsTaskError):
    """The sensor could not list the data registry (unreachable, not a git repository)."""


class InvalidArgumentError(MlopsTaskError, AirflowFailException):
    """An argument is invalid once its template is rendered; the task fails without retrying,
    before it touches any service (a retry would get the same value)."""


class InvalidInputError(MlopsTaskError, AirflowFailException):
    """The task's input is invalid (a bad suite, dataset, or file): it fails without retrying,
    since a retry would read the same input."""
