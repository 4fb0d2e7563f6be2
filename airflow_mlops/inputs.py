"""Checks of user-supplied arguments, shared by the configs, the run params and the operators.

Each check takes the argument's name and value, returns the (normalised) value, and raises
:class:`~airflow_mlops.errors.ConfigError` naming the argument, quoting the value and saying
what is allowed, before any work starts. Values that reach git, DVC, Docker or a file system
are checked for the forms those tools misread: a leading ``-`` (taken as an option), control
characters and NUL bytes, ``..`` in paths that must stay inside a root, shell metacharacters.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Mapping
from pathlib import PurePosixPath
from typing import Any

from airflow_mlops.errors import ConfigError

#: a git revision: tag, branch or commit; no option-like (``-x``) or range (``a..b``) forms.
#: ``$(?!\n)``: Python's ``$`` also matches before a final newline, JavaScript's does not.
REV_PATTERN = r"^(?!.*\.\.)[A-Za-z0-9][A-Za-z0-9._/-]{0,99}$(?!\n)"
#: a name: DAG ids, model names, dataset names, connection ids, aliases
NAME_PATTERN = r"^[A-Za-z][A-Za-z0-9_.-]{0,99}$(?!\n)"
#: a Docker image reference: ``[host[:port]/]path[:tag][@sha256:digest]``, lowercase path
IMAGE_PATTERN = (
    r"^(?:[a-zA-Z0-9](?:[a-zA-Z0-9.-]*[a-zA-Z0-9])?(?::[0-9]{1,5})?/)?"
    r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*"
    r"(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(?:@sha256:[a-f0-9]{64})?$(?!\n)"
)
#: a size as Docker takes it: bytes, or a number with a b/k/m/g unit
SIZE_PATTERN = r"^[1-9][0-9]{0,15}[bkmgBKMG]?$(?!\n)"
#: git transports that run a command instead of fetching (``ext::sh -c ...``)
_COMMAND_TRANSPORTS = ("ext::", "fd::")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
MAX_TEXT = 4096


def fail(name: str, value: Any, rule: str) -> ConfigError:
    """The error for argument ``name``: its value and the rule it breaks."""
    shown = repr(value)
    shown = shown if len(shown) <= 120 else shown[:117] + "..."
    return ConfigError(f"{name}={shown}: {rule}.", hint=f"Fix {name}.")


def as_text(value: Any) -> Any:
    """An integer as its decimal text (a rendered template may turn ``"2024"`` into 2024)."""
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


def check_text(name: str, value: Any, *, max_length: int = MAX_TEXT) -> str:
    """A non-empty string of at most ``max_length`` characters without control characters."""
    if not isinstance(value, str):
        raise fail(name, value, f"must be a string, not {type(value).__name__}")
    if not value.strip():
        raise fail(name, value, "must not be empty")
    if len(value) > max_length:
        raise fail(name, value, f"must be at most {max_length} characters")
    if _CONTROL.search(value):
        raise fail(name, value, "must not contain control characters (NUL, newline, tab, ...)")
    return value


def check_pattern(name: str, value: Any, pattern: str, rule: str) -> str:
    if not isinstance(value, str) or not re.match(pattern, value):
        raise fail(name, value, rule)
    return value


def check_rev(name: str, value: Any) -> str:
    """A git tag, branch or commit."""
    return check_pattern(
        name,
        as_text(value),
        REV_PATTERN,
        "must be a git tag, branch or commit: up to 100 letters, digits and '._/-', "
        "starting with a letter or digit, without '..'",
    )


def check_name(name: str, value: Any) -> str:
    """A name: letters, digits, ``_.-``, starting with a letter."""
    return check_pattern(
        name,
        value,
        NAME_PATTERN,
        "must be up to 100 letters, digits, '_', '.', '-', starting with a letter",
    )


def check_image(name: str, value: Any) -> str:
    """A Docker image reference (no shell or option syntax), at most 255 characters."""
    return check_pattern(
        name,
        check_text(name, value, max_length=255),
        IMAGE_PATTERN,
        "must be a Docker image reference such as 'registry:5000/team/train:1.2' "
        "(lowercase repository path, optional tag and @sha256 digest)",
    )


def check_version(name: str, value: Any) -> str:
    """A model version number (text or integer)."""
    return check_pattern(name, as_text(value), r"^[1-9][0-9]{0,9}$", "must be a version number")


def check_alias(name: str, value: Any) -> str:
    """An MLflow alias: letters, digits, ``_-``; not ``latest`` nor ``v<number>``."""
    return check_pattern(
        name,
        value,
        r"^(?![vV][0-9]+$)(?!latest$)[A-Za-z0-9_][A-Za-z0-9_-]{0,254}$(?!\n)",
        "must be an alias of letters, digits, '_', '-' (not 'latest' nor 'v<number>')",
    )


def check_version_or_alias(name: str, value: Any) -> str:
    """A version number or an alias."""
    text = as_text(value)
    return check_version(name, text) if str(text).isdigit() else check_alias(name, text)


def check_size(name: str, value: Any) -> int | str:
    """A positive size in bytes, as an integer or Docker's ``<number>[b|k|m|g]`` text."""
    if isinstance(value, int) and not isinstance(value, bool) and 0 < value < 2**63:
        return value
    return check_pattern(
        name, value, SIZE_PATTERN, "must be a positive size such as 536870912, '512m' or '4g'"
    )


def check_path(name: str, value: Any) -> str:
    """A local path or URI chosen by the DAG author (absolute allowed); no option-like form."""
    value = check_text(name, value)
    if value.startswith("-"):
        raise fail(name, value, "must not start with '-'")
    return value


def check_relative_path(name: str, value: Any) -> str:
    """A path inside a root (a registry, a repository): relative, no ``..``, normalised."""
    value = check_path(name, value)
    path = PurePosixPath(value)
    if path.is_absolute() or ".." in path.parts or str(path) == "." or "\\" in value:
        raise fail(name, value, "must be a relative path inside its root, without '..'")
    return str(path)


def check_git_source(name: str, value: Any) -> str:
    """A git repository: a local path or a URL, never an option or a command transport."""
    value = check_path(name, value)
    if value.lower().startswith(_COMMAND_TRANSPORTS):
        raise fail(name, value, "must be a repository path or URL, not a command transport")
    return value


def check_int(name: str, value: Any, minimum: int, maximum: int) -> int:
    """An integer (not a bool, not a float) in ``[minimum, maximum]``."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise fail(name, value, f"must be an integer, not {type(value).__name__}")
    if not minimum <= value <= maximum:
        raise fail(name, value, f"must be between {minimum} and {maximum}")
    return value


def check_number(
    name: str, value: Any, minimum: float, maximum: float, *, exclusive_minimum: bool = False
) -> float:
    """A finite number (not a bool) in ``[minimum, maximum]`` (``(minimum, ...]`` if told)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise fail(name, value, f"must be a number, not {type(value).__name__}")
    if not math.isfinite(value):
        raise fail(name, value, "must be a finite number")
    low_ok = value > minimum if exclusive_minimum else value >= minimum
    if not (low_ok and value <= maximum):
        bracket = "(" if exclusive_minimum else "["
        raise fail(name, value, f"must be in {bracket}{minimum:g}, {maximum:g}]")
    return value


def check_bool(name: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise fail(name, value, "must be true or false")
    return value


def check_choice(name: str, value: Any, choices: Iterable[str]) -> str:
    choices = tuple(choices)
    if not isinstance(value, str) or value not in choices:
        raise fail(name, value, f"must be one of {', '.join(map(repr, choices))}")
    return value


def check_tags(name: str, value: Any) -> tuple[str, ...]:
    """A tuple of tag strings of at most 100 characters each."""
    if not isinstance(value, tuple):
        raise fail(name, value, "must be a list of tag strings")
    for tag in value:
        check_text(name, tag, max_length=100)
    return value


def check_markdown(name: str, value: Any) -> str:
    """Markdown text (any string: newlines allowed)."""
    if not isinstance(value, str):
        raise fail(name, value, "must be Markdown text")
    return value


def check_mapping(name: str, value: Any) -> dict[str, Any]:
    if not isinstance(value, Mapping):
        raise fail(name, value, f"must be a mapping, not {type(value).__name__}")
    return dict(value)


def rule(
    check: Callable[..., Any],
    *args: Any,
    allow_none: bool = False,
    allow_blank: bool = False,
    **kwargs: Any,
) -> Callable[[str, Any], Any]:
    """``check`` with its extra arguments bound, as a ``(name, value)`` rule; ``allow_none``
    lets None through, ``allow_blank`` None and ``""`` (both mean "not set")."""

    def apply(name: str, value: Any) -> Any:
        if (value is None and (allow_none or allow_blank)) or (value == "" and allow_blank):
            return None
        return check(name, value, *args, **kwargs)

    return apply
