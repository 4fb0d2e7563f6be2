"""Run parameters of a CT run (the Airflow trigger form), with their ranges in one table.

The same :data:`FIELDS` table produces the Airflow ``Param`` JSON schemas (the UI form rejects
bad input before a run exists) and :func:`parse_run_params` (which rejects bad input arriving by
the REST API or CLI before any work, naming the field).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from airflow_mlops.errors import ConfigError
from airflow_mlops.inputs import REV_PATTERN


@dataclass(frozen=True)
class Field:
    """One run parameter: its JSON-schema type, default, bounds and a description."""

    name: str
    type: str
    default: Any
    description: str
    minimum: float | None = None
    maximum: float | None = None

    def schema(self) -> dict[str, Any]:
        """JSON-schema keywords for ``airflow.sdk.Param(default, **schema)``."""
        schema: dict[str, Any] = {"type": self.type, "description": self.description}
        bounds = {"minimum": self.minimum, "maximum": self.maximum}
        if self.type == "array":
            schema.update(
                items={"type": "integer", **{k: v for k, v in bounds.items() if v is not None}},
                minItems=1,
                maxItems=6,
            )
        else:
            schema.update({k: v for k, v in bounds.items() if v is not None})
        if self.type == "number":
            # NaN passes every comparison, so it alone fits an empty range: refusing that range
            # refuses NaN when the run is triggered (an infinity already breaks the bounds)
            schema["not"] = {"minimum": 1, "maximum": 0}
        if self.name == "data_rev":
            schema["pattern"] = REV_PATTERN
        return schema


FIELDS: tuple[Field, ...] = (
    Field(
        "data_rev",
        "string",
        "main",
        "Dataset version to train on: a git tag, branch or commit of the data registry.",
    ),
    Field(
        "epochs", "integer", 60, "Maximum training epochs (early stopping may end sooner).", 1, 1000
    ),
    Field("learning_rate", "number", 0.003, "Adam learning rate.", 1e-6, 1.0),
    Field("hidden_sizes", "array", [64, 32], "Units of each hidden layer of the MLP.", 1, 4096),
    Field("batch_size", "integer", 64, "Mini-batch size.", 1, 65536),
    Field(
        "seed",
        "integer",
        42,
        "Random seed: same data, code and seed give the same model.",
        0,
        2**31 - 1,
    ),
    Field(
        "promote", "boolean", True, "Move the champion alias when the challenger passes the gate."
    ),
)


@dataclass(frozen=True)
class RunParams:
    """Validated parameters of one CT run."""

    data_rev: str
    epochs: int
    learning_rate: float
    hidden_sizes: tuple[int, ...]
    batch_size: int
    seed: int
    promote: bool

    def training_params(self) -> dict[str, Any]:
        """The hyper-parameters that go to training (and into the CT fingerprint), named as
        :class:`~airflow_mlops.training.config.TrainingConfig` names them."""
        return {
            "max_epochs": self.epochs,
            "learning_rate": self.learning_rate,
            "hidden_layers": list(self.hidden_sizes),
            "batch_size": self.batch_size,
            "seed": self.seed,
        }


def _check(field: Field, value: Any) -> Any:
    def fail(problem: str) -> ConfigError:
        return ConfigError(
            f"Parameter {field.name!r}: {problem} (got {value!r}).",
            hint=f"{field.description} Default: {field.default!r}.",
        )

    if field.type == "boolean":
        if not isinstance(value, bool):
            raise fail("must be true or false")
        return value
    if field.type == "string":
        if not isinstance(value, str) or not re.match(REV_PATTERN, value):
            raise fail("must be a git tag, branch or commit: letters, digits, '._/-', no '..'")
        return value
    items = value if field.type == "array" else [value]
    if field.type == "array" and (not isinstance(value, list | tuple) or not 1 <= len(value) <= 6):
        raise fail("must be a list of 1 to 6 layer sizes")
    integers = field.type in ("integer", "array")
    checked = []
    for item in items:
        # JSON has one number type: 3.0 is the integer 3, as the form's JSON schema says
        if integers and isinstance(item, float) and item.is_integer():
            item = int(item)
        if isinstance(item, bool) or not isinstance(item, int if integers else int | float):
            raise fail(f"must be {'an integer' if integers else 'a number'}")
        if isinstance(item, float) and not math.isfinite(item):
            raise fail("must be a finite number, not NaN or infinity")
        if not field.minimum <= item <= field.maximum:
            raise fail(f"must be between {field.minimum:g} and {field.maximum:g}")
        checked.append(item)
    return tuple(checked) if field.type == "array" else checked[0]


def parse_run_params(conf: Mapping[str, Any] | None) -> RunParams:
    """Validate run params (defaults for missing ones); unknown names are refused.

    :raises ConfigError: naming the first bad field, its value and its rule.
    """
    conf = dict(conf or {})
    known = {f.name for f in FIELDS} | {"trigger"}
    unknown = sorted(set(conf) - known)
    if unknown:
        raise ConfigError(
            f"Unknown parameter(s) {', '.join(map(repr, unknown))}.",
            hint=f"Valid parameters: {', '.join(sorted(known))}.",
        )
    values = {f.name: _check(f, conf.get(f.name, f.default)) for f in FIELDS}
    return RunParams(**values)
