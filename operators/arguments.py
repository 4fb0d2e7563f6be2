"""Argument checks of the operators: literal values when the DAG file is parsed, templated
values once rendered, at the start of ``execute`` before the task touches any service.

An operator lists its rules (argument name -> ``(name, value)`` check from
:mod:`airflow_mlops.inputs`) in ``argument_rules`` and calls :func:`check_arguments` at the end
of ``__init__`` (``rendered=False``) and first thing in ``execute`` (``rendered=True``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from airflow.sdk import BaseOperator

from airflow_mlops.errors import ConfigError
from airflow_mlops.operators.exceptions import InvalidArgumentError

Rule = Callable[[str, Any], Any]


def has_template(value: Any) -> bool:
    """Whether ``value`` (or anything inside it) is a Jinja template, rendered at run time."""
    if isinstance(value, str):
        return "{{" in value or "{%" in value
    if isinstance(value, Mapping):
        return any(has_template(v) for v in value.values())
    if isinstance(value, list | tuple | set):
        return any(has_template(v) for v in value)
    return False


def check_arguments(operator: BaseOperator, rules: Mapping[str, Rule], *, rendered: bool) -> None:
    """Apply ``rules`` to the operator's attributes of the same names.

    :param rendered: False at construction: templated values are left for later; True in
        ``execute``: every value is checked.
    :raises ConfigError: at construction, naming the operator, the task and the argument.
    :raises InvalidArgumentError: in ``execute`` (the task fails without a retry).
    """
    templated = set(operator.template_fields)
    for name, check in rules.items():
        value = getattr(operator, name)
        if not rendered and name in templated and has_template(value):
            continue
        try:
            check(name, value)
        except ConfigError as error:
            where = f"{type(operator).__name__}(task_id={operator.task_id!r})"
            if rendered:
                raise InvalidArgumentError(
                    f"{where} refused before any work: {error}", details={"argument": name}
                ) from error
            raise ConfigError(f"{where}: {error.message}", hint=error.hint) from error
