"""Smoke-predict and load-test an ONNX model in the serving runtime (a subprocess).

The holdout rows become the model's input arrays here (the exporter's own feature code), the
runtime scores them with :mod:`~airflow_mlops.serving.probe`, and its scores must equal the
exporter's onnxruntime scores within the export's parity tolerance.
"""

from __future__ import annotations

import json
import subprocess
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from airflow_mlops.errors import ServingError
from airflow_mlops.export.exporter import ExportConfig
from airflow_mlops.export.parity import compare_scores

if TYPE_CHECKING:
    import pandas as pd

PROBE = Path(__file__).with_name("probe.py")


@dataclass(frozen=True)
class ServingCheck:
    """What the serving runtime did with the model.

    :param rows: holdout rows smoke-predicted.
    :param max_abs: largest gap to the exporter's scores; ``parity_ok`` within tolerance.
    :param p50_ms: latency at batch 1 (median; ``p99_ms`` its 99th percentile).
    :param rows_per_s: throughput at ``batch`` rows per call.
    :param clean: torch and Airflow were not importable in the runtime.
    """

    rows: int
    max_abs: float
    parity_ok: bool
    p50_ms: float
    p99_ms: float
    batch: int
    rows_per_s: float
    clean: bool
    runtime: str
    versions: dict[str, str]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def check_serving(
    python: str | Path,
    onnx_path: str | Path,
    holdout: pd.DataFrame,
    *,
    batch: int = 256,
    max_rows: int = 1000,
    timeout_s: float = 300.0,
) -> ServingCheck:
    """Run the probe in the runtime ``python`` on up to ``max_rows`` holdout rows.

    :raises ServingError: the runtime is missing, fails to load or score the model, or scores
        differently from the exporter (parity).
    """
    import numpy as np

    from airflow_mlops.export.runtime import OnnxPredictor

    if not Path(python).exists():
        raise ServingError(
            f"The serving runtime {str(python)!r} does not exist.",
            hint="Create it (airflow_mlops.serving.runtime.ensure_runtime) or build the "
            "serving image at level 2, and pass its Python.",
        )
    predictor = OnnxPredictor.load(onnx_path)
    rows = holdout.head(max_rows)
    feeds = predictor.inputs(rows)
    expected = predictor.run(feeds)
    with tempfile.TemporaryDirectory(prefix="mlops-serving-") as scratch:
        np.savez(Path(scratch) / "feeds.npz", **{k: _storable(v) for k, v in feeds.items()})
        command = [str(python), str(PROBE), str(onnx_path), f"{scratch}/feeds.npz", scratch]
        try:
            done = subprocess.run(
                [*command, str(batch)], capture_output=True, text=True, timeout=timeout_s
            )
        except subprocess.TimeoutExpired as error:
            raise ServingError(
                f"The serving runtime ran over {timeout_s:.0f} s on {len(rows)} rows.",
                hint="Check the runtime's machine load, or raise the timeout.",
            ) from error
        if done.returncode != 0:
            raise ServingError(
                f"The serving runtime could not load or score {str(onnx_path)!r}: "
                f"{done.stderr.strip()[-1500:]}",
                hint="The model needs an operator or input the clean runtime lacks; compare "
                "its onnxruntime version with the exporter's.",
            )
        report = json.loads((Path(scratch) / "probe.json").read_text())
        actual = np.load(Path(scratch) / "scores.npy")
    tolerance = ExportConfig()
    parity = compare_scores(expected, actual, atol=tolerance.atol, rtol=tolerance.rtol)
    return ServingCheck(
        rows=report["rows"],
        max_abs=parity.max_abs,
        parity_ok=parity.ok,
        p50_ms=report["p50_ms"],
        p99_ms=report["p99_ms"],
        batch=report["batch"],
        rows_per_s=report["rows_per_s"],
        clean=not (report["torch_importable"] or report["airflow_importable"]),
        runtime=str(python),
        versions={k: report[k] for k in ("python", "onnxruntime", "numpy")},
    )


def _storable(array: Any) -> Any:
    """Object (string) arrays as fixed-width unicode, which ``.npz`` stores without pickle."""
    return array.astype(str) if array.dtype == object else array
