"""Errors raised by the core. Each says what went wrong and what to do about it.

The Airflow adapters wrap these in ``AirflowException`` subclasses
(:mod:`airflow_mlops.operators.exceptions`); the core itself never imports Airflow.
"""

from __future__ import annotations

from typing import Any


class MlopsError(Exception):
    """Base error: ``message`` says what went wrong, ``hint`` what to do, ``details`` carry data.

    :param message: what went wrong, quoting the bad value.
    :param hint: what the user can do about it.
    :param details: a small JSON-able payload (failed checks, offending values, log tail).
    """

    def __init__(
        self, message: str, *, hint: str | None = None, details: dict[str, Any] | None = None
    ) -> None:
        self.message = message
        self.hint = hint
        self.details = details or {}
        super().__init__(f"{message}\nWhat to do: {hint}" if hint else message)


class ConfigError(MlopsError, ValueError):
    """A parameter or config value is invalid; raised before any work starts."""


class DataError(MlopsError):
    """A dataset could not be pulled, read or parsed."""


class DataValidationError(MlopsError):
    """A dataset failed its validation suite."""


class TrainingError(MlopsError):
    """Training failed (container crash, OOM, timeout, NaN loss)."""


class ExportError(MlopsError):
    """ONNX export or its parity check failed."""


class RegistryError(MlopsError):
    """The model registry (MLflow) refused or could not be reached."""


class ModelVersionNotFoundError(RegistryError):
    """The registry has no such model, version or alias."""


class ModelNotFoundError(RegistryError):
    """The registry has no model of that name (the MLOps page asked for one)."""


class RegistryUnavailableError(RegistryError):
    """The tracking server could not be reached (down, wrong URL, network)."""


class PromotionConflictError(RegistryError):
    """``champion`` moved (or its lock stayed busy) between the decision and the promotion."""


class ServingError(MlopsError):
    """The clean serving runtime is missing, cannot load the model, or differs from export."""


class DriftError(MlopsError):
    """Drift could not be measured (missing columns, empty window)."""


class StorageError(MlopsError, OSError):
    """An artifact could not be written because its disk (or quota) is full."""


class ServiceError(MlopsError):
    """A local service (MLflow server, Airflow, Docker engine) failed to start or answer."""
