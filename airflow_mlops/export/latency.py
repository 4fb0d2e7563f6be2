"""CPU latency of one scoring call at given batch sizes, onnxruntime or torch eager."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd
    import torch

    from airflow_mlops.export.features import FeatureSpec
    from airflow_mlops.export.runtime import OnnxPredictor


@dataclass(frozen=True)
class LatencyStats:
    """Wall time of ``calls`` calls scoring ``batch`` rows each (after warm-up)."""

    batch: int
    calls: int
    threads: int
    p50_ms: float
    p95_ms: float
    mean_ms: float

    @property
    def rows_per_second(self) -> float:
        return self.batch / (self.mean_ms / 1000.0) if self.mean_ms > 0 else float("inf")

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "rows_per_second": round(self.rows_per_second, 1)}


@dataclass(frozen=True)
class TimingPlan:
    """How long to time each batch size: at least ``min_calls`` calls, then stop at
    ``max_calls`` or after ``max_seconds``, whichever comes first."""

    warmup: int = 10
    min_calls: int = 20
    max_calls: int = 500
    max_seconds: float = 2.0


def time_calls(
    call: Callable[[], object], *, batch: int, threads: int, plan: TimingPlan
) -> LatencyStats:
    """Time ``call`` repeatedly per ``plan``; p50/p95/mean in milliseconds."""
    import numpy as np

    for _ in range(plan.warmup):
        call()
    samples = []
    deadline = time.perf_counter() + plan.max_seconds
    while len(samples) < plan.max_calls and (
        len(samples) < plan.min_calls or time.perf_counter() < deadline
    ):
        start = time.perf_counter_ns()
        call()
        samples.append((time.perf_counter_ns() - start) / 1e6)
    values = np.asarray(samples)
    return LatencyStats(
        batch=batch,
        calls=len(samples),
        threads=threads,
        p50_ms=float(np.percentile(values, 50)),
        p95_ms=float(np.percentile(values, 95)),
        mean_ms=float(values.mean()),
    )


def resize_rows(frame: pd.DataFrame, rows: int) -> pd.DataFrame:
    """``rows`` rows taken cyclically from ``frame`` (a batch of any size from a sample)."""
    import numpy as np

    return frame.iloc[np.arange(rows) % len(frame)].reset_index(drop=True)


def onnx_latency(
    predictor: OnnxPredictor,
    frame: pd.DataFrame,
    *,
    batches: tuple[int, ...],
    threads: int,
    plan: TimingPlan,
) -> dict[int, LatencyStats]:
    """Latency of ``predictor``'s session on prepared inputs (the DataFrame-to-array step is
    excluded, as for torch), per batch size; the session should use ``threads`` threads."""
    stats = {}
    for batch in batches:
        feeds = predictor.inputs(resize_rows(frame, batch))
        stats[batch] = time_calls(
            lambda feeds=feeds: predictor.run(feeds), batch=batch, threads=threads, plan=plan
        )
    return stats


def torch_latency(
    module: torch.nn.Module,
    spec: FeatureSpec,
    frame: pd.DataFrame,
    *,
    batches: tuple[int, ...],
    threads: int,
    plan: TimingPlan,
) -> dict[int, LatencyStats]:
    """Latency of the torch serving module (eager, inference mode) on prepared tensors."""
    import torch

    stats = {}
    with torch_threads(threads), torch.inference_mode():
        for batch in batches:
            rows = resize_rows(frame, batch)
            args = [torch.from_numpy(rows[list(spec.numeric_columns)].to_numpy("float32"))]
            if spec.categorical_columns:
                args.append(torch.from_numpy(spec.onehot(rows)))
            stats[batch] = time_calls(
                lambda args=args: module(*args), batch=batch, threads=threads, plan=plan
            )
    return stats


@contextlib.contextmanager
def torch_threads(threads: int) -> Iterator[None]:
    """Run torch with ``threads`` intra-op threads, restoring the previous count after."""
    import torch

    previous = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(previous)
