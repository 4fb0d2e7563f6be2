"""Score an exported ONNX model with onnxruntime: raw feature columns in, scores out.

The model contract (written by :mod:`airflow_mlops.export.exporter`): input ``numeric`` is
float32 ``[N, n_numeric]`` raw values in ``numeric_columns`` order, input ``categorical`` is
string ``[N, n_categorical]`` in ``categorical_columns`` order (absent when there are none),
output ``score`` is float32 ``[N, n_classes]`` probabilities or ``[N, 1]`` predictions. The
column lists, label, task and classes are JSON values in the model's metadata_props.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from airflow_mlops.errors import DataError, ExportError

if TYPE_CHECKING:
    import numpy as np
    import onnxruntime as ort
    import pandas as pd

NUMERIC_INPUT = "numeric"
CATEGORICAL_INPUT = "categorical"
SCORE_OUTPUT = "score"
TASKS = ("classification", "regression")
METADATA_KEYS = ("numeric_columns", "categorical_columns", "label", "task", "classes")
#: what a missing categorical value is fed as; it matches no category, so its block is all zeros
MISSING_CATEGORY = ""


@dataclass(frozen=True)
class ModelMetadata:
    """What the exporter records in the ONNX metadata_props, decoded."""

    numeric_columns: tuple[str, ...]
    categorical_columns: tuple[str, ...]
    label: str
    task: str
    classes: tuple[Any, ...]

    def to_props(self) -> dict[str, str]:
        """The metadata_props entries: each value JSON-encoded."""
        return {
            "numeric_columns": json.dumps(list(self.numeric_columns)),
            "categorical_columns": json.dumps(list(self.categorical_columns)),
            "label": json.dumps(self.label),
            "task": json.dumps(self.task),
            "classes": json.dumps(list(self.classes)),
        }

    @classmethod
    def from_props(cls, props: dict[str, str], source: str) -> ModelMetadata:
        """Decode metadata_props; :class:`ExportError` names what is missing or malformed."""
        missing = [key for key in METADATA_KEYS if key not in props]
        if missing:
            raise ExportError(
                f"ONNX model {source!r} lacks metadata {missing}: "
                "it was not exported by airflow-mlops.",
                hint="Export the checkpoint with ExportOnnxOperator or export_checkpoint().",
                details={"missing": missing, "present": sorted(props)},
            )
        try:
            values = {key: json.loads(props[key]) for key in METADATA_KEYS}
        except json.JSONDecodeError as error:
            raise ExportError(
                f"ONNX model {source!r} has metadata that is not JSON: {error}",
                hint="Re-export the model; its metadata_props were edited or truncated.",
            ) from error
        if values["task"] not in TASKS:
            raise ExportError(
                f"ONNX model {source!r} has task {values['task']!r}; expected one of {TASKS}.",
                hint="Re-export the model from a checkpoint of a supported task.",
            )
        return cls(
            numeric_columns=tuple(values["numeric_columns"]),
            categorical_columns=tuple(values["categorical_columns"]),
            label=values["label"],
            task=values["task"],
            classes=tuple(values["classes"] or ()),
        )


def session_options(threads: int | None = None) -> ort.SessionOptions:
    """onnxruntime options: full graph optimisation, ``threads`` intra-op threads (None = ORT's
    default, one per core), sequential execution with one inter-op thread."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.inter_op_num_threads = 1
    if threads is not None:
        options.intra_op_num_threads = threads
    return options


class OnnxPredictor:
    """An onnxruntime session over an airflow-mlops ONNX model, fed from a DataFrame.

    Build it with :meth:`load` (a file) or :meth:`from_bytes` (a serialized model).
    """

    def __init__(self, session: ort.InferenceSession, metadata: ModelMetadata, source: str):
        self.session = session
        self.metadata = metadata
        self.source = source

    @classmethod
    def load(cls, path: str | os.PathLike[str], *, threads: int | None = None) -> OnnxPredictor:
        """Open the model at ``path`` on the CPU.

        :param path: a local ``.onnx`` file.
        :param threads: intra-op threads (None = one per core).
        :raises ExportError: the file is missing, not a valid model, or lacks the metadata.
        """
        location = Path(path)
        if not location.is_file():
            raise ExportError(
                f"ONNX model {str(location)!r} does not exist.",
                hint="Check the path, or that the export task before this one succeeded.",
            )
        return cls._open(str(location), str(location), threads)

    @classmethod
    def from_bytes(
        cls, model: bytes, *, threads: int | None = None, source: str = "<bytes>"
    ) -> OnnxPredictor:
        """Open a serialized model held in memory (used by the exporter before it writes)."""
        return cls._open(model, source, threads)

    @classmethod
    def _open(cls, model: str | bytes, source: str, threads: int | None) -> OnnxPredictor:
        import onnxruntime as ort

        try:
            session = ort.InferenceSession(
                model, sess_options=session_options(threads), providers=["CPUExecutionProvider"]
            )
        except Exception as error:  # onnxruntime raises one pybind class per status code
            raise ExportError(
                f"onnxruntime cannot load the ONNX model {source!r}: {error}",
                hint="Re-export the model; the file is corrupt or uses unsupported operators.",
            ) from error
        props = dict(session.get_modelmeta().custom_metadata_map)
        return cls(session, ModelMetadata.from_props(props, source), source)

    @property
    def numeric_columns(self) -> list[str]:
        return list(self.metadata.numeric_columns)

    @property
    def categorical_columns(self) -> list[str]:
        return list(self.metadata.categorical_columns)

    @property
    def label(self) -> str:
        return self.metadata.label

    @property
    def task(self) -> str:
        return self.metadata.task

    @property
    def classes(self) -> list[Any]:
        return list(self.metadata.classes)

    @property
    def feature_columns(self) -> list[str]:
        """Every input column, numeric first."""
        return self.numeric_columns + self.categorical_columns

    def inputs(self, frame: pd.DataFrame) -> dict[str, np.ndarray]:
        """The session's input arrays from ``frame`` (any column order, extra columns ignored).

        :raises DataError: a feature column is missing or a numeric column is not numeric.
        """
        import numpy as np

        missing = [column for column in self.feature_columns if column not in frame.columns]
        if missing:
            raise DataError(
                f"Cannot score with {self.source!r}: the data lacks columns {missing}.",
                hint="Provide every feature column the model was trained on "
                f"(numeric: {self.numeric_columns}, categorical: {self.categorical_columns}).",
                details={"missing": missing, "present": [str(c) for c in frame.columns]},
            )
        try:
            numeric = frame[self.numeric_columns].to_numpy(dtype=np.float32)
        except (TypeError, ValueError) as error:
            raise DataError(
                f"Cannot score with {self.source!r}: a numeric column holds non-numbers: {error}",
                hint="Clean or cast the numeric feature columns before scoring.",
            ) from error
        feeds = {NUMERIC_INPUT: np.ascontiguousarray(numeric)}
        if self.categorical_columns:
            feeds[CATEGORICAL_INPUT] = categorical_strings(frame[self.categorical_columns])
        return feeds

    def run(self, feeds: dict[str, np.ndarray]) -> np.ndarray:
        """The raw ``score`` output for prepared input arrays (see :meth:`inputs`)."""
        return self.session.run([SCORE_OUTPUT], feeds)[0]

    def predict_proba(self, frame: pd.DataFrame) -> np.ndarray:
        """Class probabilities ``[N, n_classes]`` (classification) or predictions ``[N, 1]``."""
        return self.run(self.inputs(frame))

    def predict(self, frame: pd.DataFrame) -> np.ndarray:
        """Class labels (classification) or predicted values (regression), shape ``[N]``."""
        import numpy as np

        scores = self.predict_proba(frame)
        if self.task == "regression":
            return scores[:, 0]
        best = scores.argmax(axis=1)
        return np.asarray(self.classes)[best] if self.classes else best


def categorical_strings(frame: pd.DataFrame) -> np.ndarray:
    """Categorical columns as an object array of ``str``; missing values become ``""``."""
    import numpy as np

    return np.ascontiguousarray(
        frame.astype("string").fillna(MISSING_CATEGORY).to_numpy(dtype=object)
    )
