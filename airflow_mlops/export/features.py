"""The checkpoint's preprocessing, read and checked before it is baked into an ONNX graph.

The training contract: the net takes standardized numeric columns in ``numeric_columns`` order
(a missing number scales to 0) followed by one one-hot block per categorical column in
``categorical_columns`` order (an unknown category gives an all-zero block). The parity check
scores through the training core's own transform (:attr:`FeatureSpec.preprocessor`), so the
graph is compared with what the model saw in training, not with a second implementation.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any

from airflow_mlops.errors import ExportError
from airflow_mlops.export.runtime import TASKS, ModelMetadata
from airflow_mlops.training.preprocessing import Preprocessor

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

REQUIRED_KEYS = (
    "numeric_columns",
    "categorical_columns",
    "mean",
    "std",
    "categories",
    "label",
    "task",
    "classes",
)
#: a value no training category has, used to check that unknown categories encode to zeros
UNSEEN_CATEGORY = "__unseen__"


@dataclass(frozen=True)
class FeatureSpec:
    """Columns, scaling and category vocabularies of one trained model."""

    numeric_columns: tuple[str, ...]
    categorical_columns: tuple[str, ...]
    mean: tuple[float, ...]
    std: tuple[float, ...]
    categories: dict[str, tuple[str, ...]]
    label: str
    task: str
    classes: tuple[Any, ...]
    #: regression: the net's output times ``target_std`` plus ``target_mean`` is the label
    target_mean: float = 0.0
    target_std: float = 1.0

    @classmethod
    def from_preprocessing(cls, preprocessing: Mapping[str, Any]) -> FeatureSpec:
        """Check the checkpoint's ``preprocessing`` dict; :class:`ExportError` says what is off."""
        missing = [key for key in REQUIRED_KEYS if key not in preprocessing]
        if missing:
            raise ExportError(
                f"The checkpoint's preprocessing lacks {missing}.",
                hint="Export a checkpoint written by airflow_mlops.training (model.pt).",
                details={"present": sorted(preprocessing)},
            )
        numeric = tuple(str(c) for c in preprocessing["numeric_columns"])
        categorical = tuple(str(c) for c in preprocessing["categorical_columns"])
        mean = tuple(float(v) for v in preprocessing["mean"])
        std = tuple(float(v) for v in preprocessing["std"])
        problems = []
        if not numeric:
            problems.append("no numeric columns (the ONNX input 'numeric' needs at least one)")
        if len(mean) != len(numeric) or len(std) != len(numeric):
            problems.append(
                f"{len(numeric)} numeric columns but {len(mean)} means and {len(std)} stds"
            )
        if any(not value > 0 for value in std):
            problems.append(f"std must be > 0, got {list(std)}")
        target_mean = float(preprocessing.get("target_mean", 0.0))
        target_std = float(preprocessing.get("target_std", 1.0))
        if not (math.isfinite(target_mean) and math.isfinite(target_std) and target_std > 0):
            problems.append(
                f"target_mean must be finite and target_std > 0, got {target_mean}, {target_std}"
            )
        if preprocessing["task"] not in TASKS:
            problems.append(f"task {preprocessing['task']!r} is not one of {TASKS}")
        categories: dict[str, tuple[str, ...]] = {}
        for column in categorical:
            values = tuple(str(v) for v in preprocessing["categories"].get(column) or ())
            if not values:
                problems.append(f"categorical column {column!r} has no categories")
            if len(set(values)) != len(values):
                problems.append(f"categories of {column!r} repeat as strings: {list(values)}")
            categories[column] = values
        if problems:
            raise ExportError(
                "The checkpoint's preprocessing is inconsistent: " + "; ".join(problems) + ".",
                hint="Retrain with airflow_mlops.training; the checkpoint was edited or is "
                "from another version.",
                details={"problems": problems},
            )
        return cls(
            numeric_columns=numeric,
            categorical_columns=categorical,
            mean=mean,
            std=std,
            categories=categories,
            label=str(preprocessing["label"]),
            task=preprocessing["task"],
            classes=tuple(preprocessing["classes"] or ()),
            target_mean=target_mean,
            target_std=target_std,
        )

    @property
    def metadata(self) -> ModelMetadata:
        """What goes into the ONNX model's metadata_props."""
        return ModelMetadata(
            numeric_columns=self.numeric_columns,
            categorical_columns=self.categorical_columns,
            label=self.label,
            task=self.task,
            classes=self.classes,
        )

    @property
    def n_onehot(self) -> int:
        """Width of all one-hot blocks together."""
        return sum(len(self.categories[c]) for c in self.categorical_columns)

    @cached_property
    def preprocessor(self) -> Preprocessor:
        """The training core's transform for the same values: the parity reference."""
        return Preprocessor(
            numeric_columns=list(self.numeric_columns),
            categorical_columns=list(self.categorical_columns),
            mean=list(self.mean),
            std=list(self.std),
            categories={c: list(v) for c, v in self.categories.items()},
            label=self.label,
            task=self.task,
            classes=list(self.classes),
            target_mean=self.target_mean,
            target_std=self.target_std,
        )

    def onehot(self, frame: pd.DataFrame) -> np.ndarray:
        """The one-hot blocks ``[N, n_onehot]`` float32 of ``frame`` (training's encoding)."""
        return self.preprocessor.transform(frame)[:, len(self.numeric_columns) :]

    def synthetic_frame(self, rows: int, seed: int = 0) -> pd.DataFrame:
        """Raw feature rows drawn from the training statistics; every tenth category is unseen
        and every 17th row misses its first numeric value.

        Used as the parity and latency sample when no real validation data is given.
        """
        import numpy as np
        import pandas as pd

        rng = np.random.default_rng(seed)
        data: dict[str, Any] = {
            column: rng.normal(mean, std, size=rows).astype(np.float32)
            for column, mean, std in zip(self.numeric_columns, self.mean, self.std, strict=True)
        }
        data[self.numeric_columns[0]][::17] = np.nan
        for column in self.categorical_columns:
            values = np.asarray(self.categories[column], dtype=object)
            drawn = values[rng.integers(0, len(values), size=rows)]
            drawn[::10] = UNSEEN_CATEGORY
            data[column] = drawn
        return pd.DataFrame(data)
