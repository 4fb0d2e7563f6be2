"""Batch scoring: throughput and peak memory of score_dataset (Parquet in, chunked onnxruntime,
predictions and inference log written chunk by chunk).

Measures, each size in a fresh subprocess (wall time and peak RSS of that process):
- score_dataset on 100k, 1M and 10M rows of 30 float32 columns (quick: 100k and 1M; with
  ``--full`` or ``AIRFLOW_MLOPS_BENCH_100M=1`` also 100M: about 12 GB of input and as much
  again of inference log under /tmp), read one row group at a time;
- the same with the reader before flat memory (one ``iter_batches`` over the whole file) up to
  10M rows, the baseline of the peak-memory figures;
- throughput against one in-memory onnxruntime call on 1M rows (no I/O).

Usage: ``python benchmarks/bench_batch_scoring.py [--quick] [--full]``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import tempfile
import time
from pathlib import Path

from memory import (
    DATA_DIR,
    FULL_ENV,
    load,
    peak_rss_gb,
    run_child,
    size_label,
    synthetic_parquet,
    use_reader,
)

#: peak RSS allowed at any size (issue 24: at most 1 GB at 10M and 100M rows)
PEAK_TARGET_GB = 1.0


def log(message: str) -> None:
    print(f"[bench_batch_scoring] {message}", flush=True)


def child_score(source: str, model: str, reader: str) -> dict:
    from airflow_mlops.export.runtime import OnnxPredictor
    from airflow_mlops.monitoring.scoring import score_dataset

    use_reader(reader)
    out = Path(tempfile.mkdtemp(prefix="bench-scoring-out-", dir=DATA_DIR))
    try:
        result = score_dataset(
            OnnxPredictor.load(model),
            source,
            predictions_path=out / "predictions.parquet",
            log_root=out / "log",
            model="demo",
            model_version="1",
            run="bench",
            scored_at=dt.datetime.now(dt.UTC),
        )
    finally:
        shutil.rmtree(out, ignore_errors=True)
    return {"rows": result.rows, "seconds": result.seconds, "peak_rss_gb": peak_rss_gb()}


def in_memory_rows_per_second(source: Path, model: Path) -> float:
    import pandas as pd

    from airflow_mlops.export.runtime import OnnxPredictor

    predictor = OnnxPredictor.load(model)
    frame = pd.read_parquet(source)
    started = time.perf_counter()
    predictor.predict(frame)
    return len(frame) / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--full", action="store_true", help="add 100M rows")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child_score(*args.child)))
        return
    from airflow_mlops.local.demo.model import export_demo_model

    sizes = [100_000, 1_000_000] if args.quick else [100_000, 1_000_000, 10_000_000]
    if args.full or os.environ.get(FULL_ENV):
        sizes.append(100_000_000)
    size = "quick" if args.quick else "full"
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    model = export_demo_model(Path(tempfile.mkdtemp(prefix="bench-scoring-")) / "model")
    lines, peaks, rates = [], {}, {}
    for rows in sizes:
        source = synthetic_parquet(DATA_DIR / f"synthetic-{rows}.parquet", rows, seed=2, say=log)
        label = size_label(rows)
        log(f"score_dataset on {rows:,} rows, one row group at a time ({load()})")
        ours = run_child(__file__, [str(source), str(model), "row_groups"], 3600, log)
        if ours is None:
            continue
        peaks[rows] = ours["peak_rss_gb"]
        rate = rates[rows] = rows / ours["seconds"]
        peak = ours["peak_rss_gb"]
        log(f"  {ours['seconds']:.1f} s ({rate:,.0f} rows/s), peak RSS {peak:.2f} GB")
        baseline = "the old whole-file reader was not run at this size"
        if rows <= 10_000_000:
            log("  the same with one iter_batches reader over the whole file (before)")
            old = run_child(__file__, [str(source), str(model), "whole_file"], 3600, log)
            if old is not None:
                log(f"  {old['seconds']:.1f} s, peak RSS {old['peak_rss_gb']:.2f} GB")
                baseline = (
                    f"whole-file iter_batches reader {old['peak_rss_gb']:.2f} GB, "
                    f"{old['seconds']:.1f} s; {load()}"
                )
        common = {"bench": "batch_scoring", "n": rows, "size": size}
        lines.append(
            {
                **common,
                "metric": f"peak_rss_gb_{label}_rows",
                "value": round(ours["peak_rss_gb"], 3),
                "target": PEAK_TARGET_GB,
                "better": "lower",
                "baseline": baseline,
            }
        )
        lines.append(
            {
                **common,
                "metric": f"rows_per_second_{label}_rows",
                "value": round(rate),
                "target": 100_000,
                "better": "higher",
                "baseline": f"{ours['seconds']:.1f} s; {load()}",
            }
        )
    if len(peaks) > 1 and 1_000_000 in peaks:
        # from 1M rows on, every chunk has the full chunk size: growth past it is held memory
        smallest, largest = 1_000_000, max(peaks)
        lines.append(
            {
                "bench": "batch_scoring",
                "metric": "peak_rss_growth_largest_over_1M",
                "value": round(peaks[largest] / peaks[smallest], 2),
                "target": 1.5,
                "better": "lower",
                "baseline": f"{size_label(smallest)} rows {peaks[smallest]:.2f} GB, "
                f"{size_label(largest)} rows {peaks[largest]:.2f} GB",
                "n": largest,
                "size": size,
            }
        )
    if 1_000_000 not in rates:
        return print_lines(lines)
    in_memory = in_memory_rows_per_second(DATA_DIR / "synthetic-1000000.parquet", model)
    scored = rates[1_000_000]
    log(f"1M rows: score_dataset {scored:,.0f} rows/s, one in-memory call {in_memory:,.0f} rows/s")
    lines.append(
        {
            "bench": "batch_scoring",
            "metric": "throughput_vs_in_memory_predict",
            "value": round(scored / in_memory, 3),
            "target": 0.3,
            "better": "higher",
            "baseline": f"one onnxruntime call, no I/O: {in_memory:,.0f} rows/s",
            "n": 1_000_000,
            "size": size,
        }
    )
    print_lines(lines)


def print_lines(lines: list[dict]) -> None:
    for line in lines:
        print(json.dumps(line))


if __name__ == "__main__":
    main()
