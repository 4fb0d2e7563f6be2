"""What the MLflow operators share: the connection argument, the core-error wrapping, their task
errors, and the readers of rendered dict and bool arguments."""

from __future__ import annotations

import ast
import json
from collections.abc import Mapping
from typing import Any

from airflow.sdk import BaseOperator

from airflow_mlops.errors import ConfigError, MlopsError
from airflow_mlops.hooks.mlflow import MlflowHook
from airflow_mlops.inputs import fail
from airflow_mlops.operators.exceptions import MlopsTaskError


class RegistrationError(MlopsTaskError):
    """The model could not be registered (invalid file, MLflow refused or unreachable)."""


class PromotionError(MlopsTaskError):
    """The gate could not run, or the champion moved meanwhile (nothing was promoted)."""


def as_mapping(value: Any, name: str) -> dict[str, Any]:
    """A dict from a dict, a JSON string or a Python-literal string (a rendered template).

    :raises ConfigError: the value is neither.
    """
    if value is None or value == "":
        return {}
    if isinstance(value, Mapping):
        return dict(value)
    if isinstance(value, str):
        for parse in (json.loads, ast.literal_eval):
            try:
                parsed = parse(value)
            except (ValueError, SyntaxError):
                continue
            if isinstance(parsed, Mapping):
                return dict(parsed)
    raise ConfigError(
        f"{name} must be a dict (or its JSON text), got {value!r}.",
        hint=f"Pass {name} as a dict, or render it with render_template_as_native_obj=True.",
    )


def as_bool(value: Any, name: str) -> bool:
    """A bool from a bool or a rendered template (``"True"``, ``"false"``, ``"1"``, ...)."""
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("true", "1", "yes"):
        return True
    if text in ("false", "0", "no", "none", ""):
        return False
    raise ConfigError(f"{name} must be true or false, got {value!r}.", hint="Pass a boolean.")


def check_mapping_or_json(name: str, value: Any) -> dict[str, Any]:
    """A dict, or its JSON / Python-literal text (see :func:`as_mapping`)."""
    try:
        return as_mapping(value, name)
    except ConfigError as error:
        raise fail(name, value, "must be a dict or its JSON text") from error


class MlflowOperator(BaseOperator):
    """Shared by the MLflow operators: the connection and core-error wrapping."""

    error_class: type[MlopsTaskError] = MlopsTaskError

    def __init__(self, *, mlflow_conn_id: str = MlflowHook.default_conn_name, **kwargs: Any):
        super().__init__(**kwargs)
        self.mlflow_conn_id = mlflow_conn_id

    def fail(self, error: MlopsError) -> MlopsTaskError:
        """The task error for a core error; says where the full details are."""
        where = f"\nFull details: the log of task {self.task_id!r}."
        return self.error_class(f"{error}{where}", details=error.details)
