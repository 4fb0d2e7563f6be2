"""Parity: the ONNX model must give what the torch model gives on the same raw rows."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from airflow_mlops.errors import ExportError

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

    from airflow_mlops.export.runtime import OnnxPredictor


@dataclass(frozen=True)
class ParityReport:
    """How far onnxruntime's scores are from torch's, and where the largest gap is."""

    rows: int
    max_abs: float
    max_rel: float
    worst_row: Any
    worst_column: str
    atol: float
    rtol: float
    mismatched: int

    @property
    def ok(self) -> bool:
        return self.mismatched == 0

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "ok": self.ok}


def compare_scores(
    expected: np.ndarray,
    actual: np.ndarray,
    *,
    atol: float,
    rtol: float,
    row_labels: list[Any] | None = None,
    column_labels: list[Any] | None = None,
) -> ParityReport:
    """Compare two score matrices like ``numpy.isclose`` (``|a - e| <= atol + rtol * |e|``).

    NaN on either side counts as a mismatch. ``row_labels`` / ``column_labels`` name the worst
    cell (e.g. the frame's index and the class names).
    """
    import numpy as np

    if expected.shape != actual.shape:
        raise ExportError(
            f"ONNX scores have shape {actual.shape}, torch scores {expected.shape}.",
            hint="The exported graph does not match the model's output; re-export it.",
        )
    gap = np.abs(actual.astype(np.float64) - expected.astype(np.float64))
    gap = np.where(np.isnan(gap), np.inf, gap)
    allowed = atol + rtol * np.abs(expected.astype(np.float64))
    mismatched = int((gap > allowed).sum())
    if gap.size == 0:
        return ParityReport(0, 0.0, 0.0, -1, "", atol, rtol, 0)
    row, col = np.unravel_index(int(np.argmax(gap)), gap.shape)
    relative = gap / np.maximum(np.abs(expected.astype(np.float64)), np.finfo(np.float32).tiny)
    rows = row_labels if row_labels is not None else list(range(gap.shape[0]))
    columns = column_labels if column_labels is not None else list(range(gap.shape[1]))
    return ParityReport(
        rows=int(gap.shape[0]),
        max_abs=float(gap.max()),
        max_rel=float(relative.max()),
        worst_row=_plain(rows[row]),
        worst_column=str(columns[col]),
        atol=atol,
        rtol=rtol,
        mismatched=mismatched,
    )


def check_parity(
    reference: Callable[[pd.DataFrame], np.ndarray],
    predictor: OnnxPredictor,
    frame: pd.DataFrame,
    *,
    atol: float,
    rtol: float,
) -> ParityReport:
    """Score ``frame`` with ``reference`` (torch) and ``predictor`` (onnxruntime) and compare.

    :raises ExportError: some score differs by more than the tolerance; the message names the
        maximum difference, the row (frame index) and the output column where it is.
    """
    columns = predictor.classes if predictor.task == "classification" else [predictor.label]
    report = compare_scores(
        reference(frame),
        predictor.predict_proba(frame),
        atol=atol,
        rtol=rtol,
        row_labels=list(frame.index),
        column_labels=columns or None,
    )
    if not report.ok:
        raise ExportError(
            f"ONNX and torch disagree on {report.mismatched} of {report.rows} rows x "
            f"{len(columns) or 1} outputs: max |difference| {report.max_abs:.3g} at row "
            f"{report.worst_row!r}, output {report.worst_column!r} "
            f"(tolerance atol={atol:g}, rtol={rtol:g}).",
            hint="Check that forward() does the same in eval mode on any batch size (no "
            "dropout/batch statistics), or loosen the tolerance if the gap is float noise.",
            details={"parity": report.to_dict()},
        )
    return report


def _plain(value: Any) -> Any:
    """A NumPy scalar as a plain Python value (for JSON)."""
    return value.item() if hasattr(value, "item") else value
