"""Run inside the serving runtime: load an ONNX model, smoke-predict, load-test.

``python probe.py MODEL FEEDS OUT BATCH``: FEEDS is an ``.npz`` of the model's input arrays,
OUT a directory that receives ``scores.npy`` and ``probe.json`` (latency p50/p99 at batch 1,
rows/s at BATCH, versions, and whether torch or airflow could be imported). It imports only
the standard library, numpy and onnxruntime, so it runs in a runtime without airflow-mlops.
"""

from __future__ import annotations

import importlib.util
import json
import sys
import time
from pathlib import Path
from typing import Any

#: batch-1 timing: calls before timing, then at least MIN_CALLS and at most MAX_SECONDS
WARMUP, MIN_CALLS, MAX_CALLS, MAX_SECONDS = 20, 200, 5000, 2.0


def main(model: str, feeds_path: str, out: str, batch: int) -> None:
    import numpy as np
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    session = ort.InferenceSession(model, options, providers=["CPUExecutionProvider"])
    with np.load(feeds_path, allow_pickle=False) as stored:
        feeds = {name: _tensor(stored[name]) for name in stored.files}
    output = session.get_outputs()[0].name
    started = time.perf_counter()
    scores = session.run([output], feeds)[0]
    smoke_ms = (time.perf_counter() - started) * 1000
    rows = len(next(iter(feeds.values())))
    one = [{k: v[i : i + 1] for k, v in feeds.items()} for i in range(min(rows, 64))]
    for call in range(WARMUP):
        session.run([output], one[call % len(one)])
    times, deadline = [], time.perf_counter() + MAX_SECONDS
    while len(times) < MIN_CALLS or (len(times) < MAX_CALLS and time.perf_counter() < deadline):
        started = time.perf_counter()
        session.run([output], one[len(times) % len(one)])
        times.append((time.perf_counter() - started) * 1000)
    reps = -(-batch // rows)
    big = {k: np.concatenate([v] * reps)[:batch] for k, v in feeds.items()}
    session.run([output], big)
    calls, started = 0, time.perf_counter()
    while calls < 5 or time.perf_counter() - started < MAX_SECONDS / 2:
        session.run([output], big)
        calls += 1
    elapsed = time.perf_counter() - started
    np.save(Path(out) / "scores.npy", scores)
    report = {
        "rows": rows,
        "smoke_ms": round(smoke_ms, 3),
        "p50_ms": round(float(np.percentile(times, 50)), 4),
        "p99_ms": round(float(np.percentile(times, 99)), 4),
        "calls": len(times),
        "batch": batch,
        "rows_per_s": round(calls * batch / elapsed, 1),
        "python": sys.version.split()[0],
        "onnxruntime": ort.__version__,
        "numpy": np.__version__,
        "torch_importable": importlib.util.find_spec("torch") is not None,
        "airflow_importable": importlib.util.find_spec("airflow") is not None,
    }
    (Path(out) / "probe.json").write_text(json.dumps(report))


def _tensor(array: Any) -> Any:
    """Strings come back from ``.npz`` as fixed-width unicode; onnxruntime wants objects."""
    return array.astype(object) if array.dtype.kind == "U" else array


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]))
