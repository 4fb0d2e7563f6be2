"""The training configuration: a frozen dataclass that validates itself on creation."""

from __future__ import annotations

import json
import math
import re
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from airflow_mlops.data.holdout import DEFAULT_HOLDOUT_FRACTION
from airflow_mlops.errors import ConfigError

TASKS = ("auto", "binary", "multiclass", "regression", "classification")
DEVICES = ("auto", "cpu", "cuda")
COLUMN_LISTS = ("numeric_columns", "categorical_columns", "feature_columns", "exclude_columns")
#: bounds that keep a typo from allocating the machine away (or overflowing numpy's seed)
MAX_LAYERS, MAX_WIDTH, MAX_COUNT, MAX_SEED = 32, 65_536, 10_000_000, 2**32 - 1
#: ``"package.module:function"``, the form of a user's model factory
FACTORY_PATTERN = re.compile(r"^[A-Za-z_][\w]*(\.[A-Za-z_][\w]*)*:[A-Za-z_][\w]*$")


@dataclass(frozen=True)
class TrainingConfig:
    """Everything that decides what is trained; stored next to the checkpoint as config.json.

    :param label: the target column.
    :param task: ``"binary"``, ``"multiclass"``, ``"regression"`` or ``"auto"`` (None too):
        integer, bool or string labels with at most 20 distinct values mean classification;
        ``"classification"`` is binary or multiclass, told by the number of classes.
    :param numeric_columns: feature columns scaled as numbers; ``None`` = every numeric column.
    :param categorical_columns: one-hot encoded columns; ``None`` = every non-numeric column.
    :param feature_columns: the only columns used as features (typed as above); ``None`` =
        every column but the label, the id and the excluded ones.
    :param exclude_columns: columns never used as features (ids, timestamps).
    :param id_column: the row id column: never a feature, and each id must occur once
        (:func:`~airflow_mlops.training.checks.check_id_column`); ``None`` = no id column.
    :param hidden_layers: widths of the MLP's hidden layers.
    :param dropout: dropout probability after each hidden layer.
    :param batch_norm: add batch normalisation before each hidden activation.
    :param learning_rate: AdamW learning rate.
    :param weight_decay: AdamW weight decay.
    :param batch_size: rows per optimisation step.
    :param max_epochs: upper bound on passes over the training split.
    :param patience: stop after this many epochs without a better validation loss.
    :param holdout_fraction: share of row keys held out from training for the gate
        (:mod:`~airflow_mlops.data.holdout`: the same rows in every data version).
    :param val_fraction: share of the training rows used for early stopping (stratified for
        classification).
    :param seed: seeds the split, the weights and the batch order.
    :param device: ``"auto"`` (CUDA when available), ``"cpu"`` or ``"cuda"`` (fails without it).
    :param mixed_precision: float16 autocast on CUDA (ignored on CPU).
    :param max_categories: a categorical column with more distinct values is refused.
    :param num_threads: torch CPU threads; ``None`` leaves torch's default.
    :param model_factory: ``"package.module:function"`` building the network from the model
        config dict (see :mod:`airflow_mlops.training.model`); ``None`` = the built-in MLP.
    :param model_kwargs: extra JSON-able keyword arguments passed to the factory.
    """

    label: str
    task: str | None = "auto"
    numeric_columns: tuple[str, ...] | None = None
    categorical_columns: tuple[str, ...] | None = None
    feature_columns: tuple[str, ...] | None = None
    exclude_columns: tuple[str, ...] = ()
    id_column: str | None = None
    hidden_layers: tuple[int, ...] = (64, 32)
    dropout: float = 0.1
    batch_norm: bool = True
    learning_rate: float = 1e-3
    weight_decay: float = 1e-4
    batch_size: int = 64
    max_epochs: int = 50
    patience: int = 8
    holdout_fraction: float = DEFAULT_HOLDOUT_FRACTION
    val_fraction: float = 0.2
    seed: int = 42
    device: str = "auto"
    mixed_precision: bool = False
    max_categories: int = 100
    num_threads: int | None = None
    model_factory: str | None = None
    model_kwargs: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name in (*COLUMN_LISTS, "hidden_layers"):
            value = getattr(self, name)
            if isinstance(value, list):
                object.__setattr__(self, name, tuple(value))
        if self.task is None:
            object.__setattr__(self, "task", "auto")
        self._check()

    def _check(self) -> None:
        problems: list[str] = []

        def need(ok: bool, message: str) -> None:
            if not ok:
                problems.append(message)

        need(isinstance(self.label, str) and bool(self.label), f"label={self.label!r}: a column")
        need(self.task in TASKS, f"task={self.task!r}: one of {', '.join(TASKS)}")
        for name in COLUMN_LISTS:
            value = getattr(self, name)
            need(
                (value is None and name != "exclude_columns")
                or (isinstance(value, tuple) and all(isinstance(c, str) and c for c in value)),
                f"{name}={value!r}: a list of column names",
            )
        need(
            self.id_column is None or (isinstance(self.id_column, str) and bool(self.id_column)),
            f"id_column={self.id_column!r}: None or a column name",
        )
        need(
            self.id_column is None or self.id_column != self.label,
            f"id_column={self.id_column!r} is also the label",
        )
        need(self.device in DEVICES, f"device={self.device!r}: one of {', '.join(DEVICES)}")
        need(
            isinstance(self.hidden_layers, tuple)
            and len(self.hidden_layers) <= MAX_LAYERS
            and all(_is_int(w) and 0 < w <= MAX_WIDTH for w in self.hidden_layers),
            f"hidden_layers={_shown(self.hidden_layers)!r}: up to {MAX_LAYERS} integers in "
            f"[1, {MAX_WIDTH}]",
        )
        need(
            _is_number(self.dropout) and 0 <= self.dropout < 1, f"dropout={self.dropout!r}: [0, 1)"
        )
        need(
            _is_number(self.learning_rate) and 0 < self.learning_rate <= 10,
            f"learning_rate={self.learning_rate!r}: in (0, 10]",
        )
        need(
            _is_number(self.weight_decay) and 0 <= self.weight_decay <= 10,
            f"weight_decay={self.weight_decay!r}: in [0, 10]",
        )
        for name in ("batch_size", "max_epochs", "patience", "max_categories"):
            value = getattr(self, name)
            need(
                _is_int(value) and 1 <= value <= MAX_COUNT,
                f"{name}={value!r}: an integer from 1 to {MAX_COUNT}",
            )
        need(
            _is_number(self.val_fraction) and 0 < self.val_fraction < 1,
            f"val_fraction={self.val_fraction!r}: in (0, 1)",
        )
        need(
            _is_number(self.holdout_fraction) and 0 < self.holdout_fraction < 1,
            f"holdout_fraction={self.holdout_fraction!r}: in (0, 1)",
        )
        need(
            _is_int(self.seed) and 0 <= self.seed <= MAX_SEED,
            f"seed={self.seed!r}: an integer from 0 to {MAX_SEED}",
        )
        need(
            self.num_threads is None
            or (_is_int(self.num_threads) and 1 <= self.num_threads <= 1024),
            f"num_threads={self.num_threads!r}: None or an integer from 1 to 1024",
        )
        need(
            self.model_factory is None
            or (
                isinstance(self.model_factory, str)
                and bool(FACTORY_PATTERN.match(self.model_factory))
            ),
            f"model_factory={self.model_factory!r}: 'package.module:function'",
        )
        need(isinstance(self.model_kwargs, dict), f"model_kwargs={self.model_kwargs!r}: a dict")
        need(isinstance(self.batch_norm, bool), f"batch_norm={self.batch_norm!r}: true or false")
        need(
            isinstance(self.mixed_precision, bool),
            f"mixed_precision={self.mixed_precision!r}: true or false",
        )
        overlap = set(self.numeric_columns or ()) & set(self.categorical_columns or ())
        need(not overlap, f"columns both numeric and categorical: {sorted(overlap)}")
        features = (
            set(_names(self.numeric_columns))
            | set(_names(self.categorical_columns))
            | set(_names(self.feature_columns))
        )
        need(self.label not in features, f"label {self.label!r} is also listed as a feature")
        need(
            self.id_column is None or self.id_column not in features,
            f"id_column {self.id_column!r} is also listed as a feature",
        )
        if problems:
            raise ConfigError(
                "Invalid training parameters: " + "; ".join(problems) + ".",
                hint="Fix the listed values (each shows the bad value and the allowed range).",
                details={"problems": problems},
            )

    @classmethod
    def from_dict(cls, params: dict[str, Any]) -> TrainingConfig:
        """Build from JSON-like params; unknown keys are refused with the list of valid ones."""
        if not isinstance(params, dict):
            raise ConfigError(
                f"Training params must be a JSON object, got {type(params).__name__}: {params!r}."
            )
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(params) - known)
        if unknown:
            raise ConfigError(
                f"Unknown training parameters: {unknown}.",
                hint=f"Valid parameters: {', '.join(sorted(known))}.",
                details={"unknown": unknown},
            )
        if "label" not in params:
            raise ConfigError("Training params need 'label', the target column.")
        try:
            return cls(**params)
        except TypeError as error:
            raise ConfigError(f"Invalid training parameters {params!r}: {error}") from error

    @classmethod
    def from_json(cls, text: str) -> TrainingConfig:
        """Parse a JSON object string (the ``--params`` argument of the entrypoint)."""
        try:
            params = json.loads(text)
        except json.JSONDecodeError as error:
            raise ConfigError(
                f"Training params are not valid JSON ({error}): {text[:200]!r}.",
                hint='Pass a JSON object, e.g. \'{"label": "label", "max_epochs": 20}\'.',
            ) from error
        return cls.from_dict(params)

    @classmethod
    def from_file(cls, path: str | Path) -> TrainingConfig:
        """Read a JSON config file (e.g. a previous run's config.json)."""
        try:
            text = Path(path).read_text(encoding="utf-8")
        except OSError as error:
            raise ConfigError(f"Cannot read training config {str(path)!r}: {error}.") from error
        return cls.from_json(text)

    def to_dict(self) -> dict[str, Any]:
        """JSON-able dict (tuples as lists) that :meth:`from_dict` turns back into this config."""
        return {
            key: list(value) if isinstance(value, tuple) else value
            for key, value in asdict(self).items()
        }


def _names(value: object) -> tuple[str, ...]:
    """The column names of a column-list field (other values are reported by their check)."""
    return tuple(c for c in value if isinstance(c, str)) if isinstance(value, tuple) else ()


def _shown(value: object) -> object:
    """A tuple field as the list it was given as."""
    return list(value) if isinstance(value, tuple) else value


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: object) -> bool:
    """A finite int or float (NaN and infinities compare false everywhere, so say no)."""
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
