"""Batch scoring throughput: rows/s of score_dataset (Parquet in, chunked onnxruntime, predictions
and inference log written) vs one in-memory onnxruntime call on the same rows (no I/O).

Usage: ``python benchmarks/bench_batch_scoring.py [--quick]``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import tempfile
import time
from pathlib import Path

from airflow_mlops.local.demo.model import export_demo_model


def log(message: str) -> None:
    print(f"[bench_batch_scoring] {message}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    import pandas as pd

    from airflow_mlops.export.runtime import OnnxPredictor
    from airflow_mlops.local.demo.synthetic import SyntheticGenerator
    from airflow_mlops.monitoring.scoring import score_dataset
    from airflow_mlops.monitoring.sources import write_parquet

    rows = 200_000 if args.quick else 2_000_000
    work = Path(tempfile.mkdtemp(prefix="bench-scoring-"))
    model = export_demo_model(work / "model")
    chunks = SyntheticGenerator.fit().chunks(rows, seed=3, chunk_rows=50_000)
    source = write_parquet((c.drop(columns=["malignant"]) for c in chunks), work / "in.parquet")
    predictor = OnnxPredictor.load(model)
    log(f"scoring {rows:,} rows from Parquet with score_dataset")
    result = score_dataset(
        predictor,
        source,
        predictions_path=work / "predictions.parquet",
        log_root=work / "log",
        model="demo",
        model_version="1",
        run="bench",
        scored_at=dt.datetime.now(dt.UTC),
    )
    log(f"  {result.seconds:.2f} s, {result.rows_per_second:,.0f} rows/s")
    frame = pd.read_parquet(source)
    started = time.perf_counter()
    predictor.predict(frame)
    in_memory = rows / (time.perf_counter() - started)
    log(f"one in-memory onnxruntime call: {in_memory:,.0f} rows/s")
    size = "quick" if args.quick else "full"
    print(
        json.dumps(
            {
                "bench": "batch_scoring",
                "metric": "rows_per_second",
                "value": round(result.rows_per_second),
                "target": 100_000,
                "better": "higher",
                "baseline": f"in-memory predict {in_memory:,.0f} rows/s",
                "n": rows,
                "size": size,
            }
        )
    )
    print(
        json.dumps(
            {
                "bench": "batch_scoring",
                "metric": "throughput_vs_in_memory_predict",
                "value": round(result.rows_per_second / in_memory, 3),
                "target": 0.3,
                "better": "higher",
                "baseline": "one onnxruntime call, no I/O",
                "n": rows,
                "size": size,
            }
        )
    )


if __name__ == "__main__":
    main()
