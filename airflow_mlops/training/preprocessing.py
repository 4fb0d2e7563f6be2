"""Preprocessing fitted on the training split only, saved with the checkpoint.

The network's input is the standardized numeric columns in ``numeric_columns`` order followed
by one one-hot block per categorical column in ``categorical_columns`` order; an unknown
category encodes as all zeros and a missing number as the training mean (zero after scaling).
A regression target is standardized too (``target_mean``/``target_std`` of the training rows):
the net learns ``(y - target_mean) / target_std`` whatever the label's units, and every consumer
turns its output back with :meth:`Preprocessor.decode_output` (the ONNX graph bakes that in).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from airflow_mlops.errors import DataError

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

    from airflow_mlops.training.config import TrainingConfig

#: ``task="auto"``: integer, bool or string labels with at most this many values = classification
MAX_AUTO_CLASSES = 20


@dataclass(frozen=True)
class Preprocessor:
    """Fitted feature order, scaling and category encoding (the ``preprocessing`` dict)."""

    numeric_columns: list[str]
    categorical_columns: list[str]
    mean: list[float]
    std: list[float]
    categories: dict[str, list[str]]
    label: str
    task: str
    classes: list[Any]
    #: regression: the training rows' label mean and std (identity for classification and for
    #: checkpoints written before the target was standardized)
    target_mean: float = 0.0
    target_std: float = 1.0

    @property
    def n_inputs(self) -> int:
        """Width of the network's input: numeric columns plus every one-hot slot."""
        return len(self.numeric_columns) + sum(len(v) for v in self.categories.values())

    @property
    def n_outputs(self) -> int:
        """Number of logits (classification) or 1 (regression)."""
        return len(self.classes) if self.task == "classification" else 1

    @property
    def feature_columns(self) -> list[str]:
        return [*self.numeric_columns, *self.categorical_columns]

    def check_columns(self, frame: pd.DataFrame) -> None:
        """Raise :class:`DataError` naming the feature columns that ``frame`` lacks."""
        missing = [c for c in self.feature_columns if c not in frame.columns]
        if missing:
            raise DataError(
                f"The data lacks feature columns {missing} that the model was trained on.",
                hint="Pass a table with the training schema (extra columns are ignored).",
                details={"missing": missing},
            )

    def transform(self, frame: pd.DataFrame) -> np.ndarray:
        """The float32 input matrix [N, n_inputs] of ``frame`` (any column order)."""
        import numpy as np
        import pandas as pd

        self.check_columns(frame)
        blocks = []
        if self.numeric_columns:
            try:
                raw = frame[self.numeric_columns].apply(pd.to_numeric).to_numpy(dtype="float64")
            except (ValueError, TypeError) as error:
                raise DataError(
                    f"A numeric feature column holds non-numeric values: {error}.",
                    hint="Fix or drop those rows, or declare the column categorical.",
                ) from error
            mean, std = np.asarray(self.mean), np.asarray(self.std)
            scaled = (raw - mean) / std
            blocks.append(np.nan_to_num(scaled, nan=0.0, posinf=0.0, neginf=0.0))
        for column in self.categorical_columns:
            values = _as_text(frame[column])
            vocabulary = self.categories[column]
            blocks.append(
                values.to_numpy()[:, None] == np.asarray(vocabulary, dtype=object)[None, :]
            )
        if not blocks:
            return np.zeros((len(frame), 0), dtype="float32")
        return np.concatenate([b.astype("float32") for b in blocks], axis=1)

    def encode_target(self, series: pd.Series) -> np.ndarray:
        """Class indices (int64) for classification; for regression the standardized float32
        values the net learns (see :meth:`decode_output`)."""
        import numpy as np
        import pandas as pd

        if series.isna().any():
            raise DataError(
                f"The label column {self.label!r} has {int(series.isna().sum())} missing values.",
                hint="Drop or fill the unlabeled rows before training.",
            )
        if self.task == "regression":
            try:
                values = pd.to_numeric(series).to_numpy(dtype="float64")
                return ((values - self.target_mean) / self.target_std).astype("float32")
            except (ValueError, TypeError) as error:
                raise DataError(
                    f"Regression label {self.label!r} is not numeric: {error}.",
                    hint="Use task='classification' or convert the label to numbers.",
                ) from error
        index = {value: i for i, value in enumerate(self.classes)}
        codes = [index.get(_plain(value), -1) for value in series.tolist()]
        unseen = sorted({str(v) for v, c in zip(series.tolist(), codes, strict=True) if c < 0})
        if unseen:
            raise DataError(
                f"Label values {unseen[:5]} were not seen in training (classes {self.classes}).",
                hint="Retrain with data that covers every class.",
            )
        return np.asarray(codes, dtype="int64")

    def decode_output(self, output: np.ndarray) -> np.ndarray:
        """The net's regression output in the label's units (classification: unchanged)."""
        if self.task != "regression":
            return output
        return output * self.target_std + self.target_mean

    def to_dict(self) -> dict[str, Any]:
        """The ``preprocessing`` dict of the checkpoint contract (plain JSON-able values)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Preprocessor:
        return cls(**data)


def fit_preprocessor(frame: pd.DataFrame, config: TrainingConfig) -> Preprocessor:
    """Choose the columns, fit mean/std and category vocabularies on ``frame`` (training rows)."""
    import numpy as np
    import pandas as pd

    if config.label not in frame.columns:
        raise DataError(
            f"Label column {config.label!r} is not in the data (columns: {list(frame.columns)}).",
            hint="Set 'label' to one of the listed columns.",
        )
    numeric, categorical = _choose_columns(frame, config)
    if not numeric and not categorical:
        raise DataError(
            "No feature columns are left after excluding the label and excluded columns.",
            hint="Check 'exclude_columns', 'numeric_columns' and 'categorical_columns'.",
        )
    values = frame[numeric].apply(pd.to_numeric, errors="coerce").to_numpy(dtype="float64")
    mean = np.nanmean(values, axis=0) if numeric else np.zeros(0)
    std = np.nanstd(values, axis=0) if numeric else np.zeros(0)
    mean = np.nan_to_num(mean, nan=0.0)
    std = np.where(np.isfinite(std) & (std > 1e-12), std, 1.0)
    categories = {}
    for column in categorical:
        vocabulary = sorted(set(_as_text(frame[column]).dropna().tolist()))
        if len(vocabulary) > config.max_categories:
            raise DataError(
                f"Categorical column {column!r} has {len(vocabulary)} distinct values "
                f"(max_categories={config.max_categories}).",
                hint="Exclude it (an id?), bucket it, or raise max_categories.",
            )
        categories[column] = vocabulary
    task = infer_task(frame[config.label], config.task)
    classes = []
    target_mean, target_std = 0.0, 1.0
    if task == "regression":
        target = pd.to_numeric(frame[config.label], errors="coerce").to_numpy(dtype="float64")
        target_mean = float(np.nan_to_num(np.nanmean(target)))
        spread = float(np.nanstd(target))
        target_std = spread if np.isfinite(spread) and spread > 1e-12 else 1.0
    if task == "classification":
        classes = sorted({_plain(v) for v in frame[config.label].dropna().tolist()}, key=_sort_key)
        if len(classes) < 2:
            raise DataError(
                f"Label {config.label!r} has only the classes {classes} in the training split.",
                hint="Classification needs at least two classes; check the data version.",
            )
    return Preprocessor(
        numeric_columns=numeric,
        categorical_columns=categorical,
        mean=[float(v) for v in mean],
        std=[float(v) for v in std],
        categories=categories,
        label=config.label,
        task=task,
        classes=classes,
        target_mean=target_mean,
        target_std=target_std,
    )


def _choose_columns(frame: pd.DataFrame, config: TrainingConfig) -> tuple[list[str], list[str]]:
    from pandas.api.types import is_bool_dtype, is_numeric_dtype

    declared = [
        *(config.numeric_columns or ()),
        *(config.categorical_columns or ()),
        *(config.feature_columns or ()),
    ]
    missing = [c for c in dict.fromkeys(declared) if c not in frame.columns]
    if missing:
        raise DataError(
            f"Declared feature columns {missing} are not in the data.",
            hint=f"Available columns: {list(frame.columns)}.",
        )
    skip = {
        config.label,
        *config.exclude_columns,
        *([config.id_column] if config.id_column else []),
    }
    candidates = [
        c
        for c in (config.feature_columns if config.feature_columns is not None else frame.columns)
        if c not in skip
    ]
    numeric = (
        list(config.numeric_columns)
        if config.numeric_columns is not None
        else [
            c
            for c in candidates
            if is_numeric_dtype(frame[c])
            and not is_bool_dtype(frame[c])
            and c not in (config.categorical_columns or ())
        ]
    )
    categorical = (
        list(config.categorical_columns)
        if config.categorical_columns is not None
        else [c for c in candidates if c not in numeric and config.numeric_columns is None]
    )
    return [str(c) for c in numeric], [str(c) for c in categorical]


def infer_task(label: pd.Series, task: str | None) -> str:
    """The network's task, ``classification`` or ``regression``: the configured one, or for
    ``"auto"`` (None) the one the label's values suggest.

    The label is checked first (see :func:`~airflow_mlops.training.checks.check_label`); a
    ``binary`` task needs exactly two classes, a ``multiclass`` task at least two.
    """
    from pandas.api.types import is_bool_dtype, is_float_dtype, is_numeric_dtype

    from airflow_mlops.training.checks import check_label

    check_label(label, task)
    if task in ("binary", "multiclass"):
        count = label.nunique()
        if task == "binary" and count != 2:
            raise DataError(
                f"task='binary' but label {label.name!r} has {count} distinct values.",
                hint="Set task to 'multiclass' (or leave it unset to infer it), or fix the label.",
            )
        return "classification"
    if task not in (None, "auto"):
        return task
    if is_bool_dtype(label) or not is_numeric_dtype(label):
        return "classification"
    if is_float_dtype(label) and not (label.dropna() % 1 == 0).all():
        return "regression"
    return "classification" if label.nunique() <= MAX_AUTO_CLASSES else "regression"


def _as_text(series: pd.Series) -> pd.Series:
    """Category values as strings (the ONNX graph receives strings); NaN stays NaN."""
    import pandas as pd

    return series.astype(object).map(lambda v: v if isinstance(v, str) or pd.isna(v) else str(v))


def _plain(value: Any) -> Any:
    """A numpy scalar as the equivalent Python value, so classes are JSON-able."""
    return value.item() if hasattr(value, "item") else value


def _sort_key(value: Any) -> tuple[int, Any]:
    return (0, value) if isinstance(value, int | float) else (1, str(value))
