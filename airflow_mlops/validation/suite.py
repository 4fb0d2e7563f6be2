"""Expectation suites as reviewable JSON files in Great Expectations' own format.

A suite is ``{"name": ..., "expectations": [{"type": ..., "kwargs": {...}, "meta": {...}}],
"meta": {...}}``: the JSON that ``gx.ExpectationSuite.to_json_dict()`` writes (ids are dropped
so that diffs stay readable). ``meta.level`` (``schema`` or ``value``) and the optional
``meta.severity`` of each expectation feed the outcome policy (:mod:`.policy`).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from airflow_mlops.artifacts import atomic_write_json
from airflow_mlops.errors import ConfigError
from airflow_mlops.task_logs import quiet_libraries


def normalize_suite(suite: Any, *, source: str = "the suite") -> dict[str, Any]:
    """A checked, id-free copy of ``suite`` (a dict, or a ``gx.ExpectationSuite``).

    :raises ConfigError: a field is missing or has the wrong type.
    """
    if hasattr(suite, "to_json_dict"):
        suite = suite.to_json_dict()
    if not isinstance(suite, dict):
        raise ConfigError(
            f"{source} must be a JSON object, got {type(suite).__name__}.",
            hint='Write {"name": ..., "expectations": [...]} as GX does.',
        )
    name, expectations = suite.get("name"), suite.get("expectations")
    if not isinstance(name, str) or not name:
        raise ConfigError(f"{source} has no 'name' (got {name!r}).", hint="Name the suite.")
    if not isinstance(expectations, list):
        raise ConfigError(
            f"{source} ({name!r}) has no 'expectations' list (got {expectations!r}).",
            hint="List the expectations under 'expectations'.",
        )
    cleaned = []
    for index, item in enumerate(expectations):
        kind = item.get("type") if isinstance(item, dict) else None
        kwargs = item.get("kwargs", {}) if isinstance(item, dict) else None
        meta = (item.get("meta") or {}) if isinstance(item, dict) else None
        if not isinstance(kind, str) or not isinstance(kwargs, dict) or not isinstance(meta, dict):
            raise ConfigError(
                f"Expectation #{index} of {source} ({name!r}) is malformed: {item!r}.",
                hint='Each expectation needs "type" (str), "kwargs" (object), '
                'optional "meta" (object).',
            )
        cleaned.append({"type": kind, "kwargs": dict(kwargs), "meta": dict(meta)})
    return {"name": name, "expectations": cleaned, "meta": dict(suite.get("meta") or {})}


def load_suite(path: str | Path) -> dict[str, Any]:
    """Read and check a suite JSON file.

    :raises ConfigError: the file is missing, not JSON, or not a suite.
    """
    location = Path(path)
    try:
        payload = json.loads(location.read_text(encoding="utf-8"))
    except FileNotFoundError as error:
        raise ConfigError(
            f"Suite file {str(location)!r} does not exist.",
            hint="Check the path, or learn a suite from a reference dataset first.",
        ) from error
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ConfigError(
            f"Suite file {str(location)!r} is not valid JSON: {error}",
            hint="Fix the JSON syntax (an edit may have left a trailing comma).",
        ) from error
    return normalize_suite(payload, source=f"suite file {str(location)!r}")


def save_suite(path: str | Path, suite: dict[str, Any]) -> Path:
    """Write ``suite`` as indented, key-sorted JSON, atomically; returns the path."""
    return atomic_write_json(path, normalize_suite(suite))


def check_with_gx(suite: dict[str, Any]) -> None:
    """Let GX check every expectation's type and arguments.

    :raises ConfigError: GX does not know a type, or refuses its arguments.
    """
    quiet_libraries()
    from great_expectations.expectations.expectation_configuration import (
        ExpectationConfiguration,
    )

    for item in suite["expectations"]:
        try:
            ExpectationConfiguration(type=item["type"], kwargs=item["kwargs"]).to_domain_obj()
        except Exception as error:  # GX raises pydantic and its own errors here
            raise ConfigError(
                f"Suite {suite['name']!r}: expectation {item['type']} with arguments "
                f"{item['kwargs']} is invalid: {str(error).splitlines()[0]}",
                hint="Fix the expectation in the suite file (see the GX expectation gallery).",
            ) from error
