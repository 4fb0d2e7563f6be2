"""onnxruntime vs torch eager on the CPU: batch-1 latency and batch-1024 throughput.

Trains the default MLP (training core, demo data, a few epochs), exports it with
:func:`airflow_mlops.export.exporter.export_checkpoint`, then times in alternating rounds:

- the ONNX model in onnxruntime (scaling, string one-hot, net and softmax all in the graph),
  fed the raw numeric array and the string array of the categorical columns;
- the same net in torch eager (``inference_mode``) wrapped with the same scaling and softmax,
  fed the raw numeric tensor and the one-hot tensor already encoded (so torch does less work).

Both use the same number of intra-op threads (``--threads``, default 1). Targets: batch-1 p50
latency speed-up >= 3x, batch-1024 rows/s speed-up >= 1.5x. Each speed-up is the median over
``--rounds`` rounds of torch p50 / onnxruntime p50 measured back to back in that round.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
from pathlib import Path

from airflow_mlops.export.exporter import ExportConfig, export_checkpoint
from airflow_mlops.export.features import FeatureSpec
from airflow_mlops.export.graph import serving_module
from airflow_mlops.export.latency import TimingPlan, onnx_latency, torch_latency
from airflow_mlops.export.runtime import OnnxPredictor
from airflow_mlops.local.demo import dataset as demo
from airflow_mlops.training.checkpoint import load_checkpoint
from airflow_mlops.training.config import TrainingConfig
from airflow_mlops.training.loop import train

SMALL, LARGE = 1, 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer timed calls (< 1 min)")
    parser.add_argument("--threads", type=int, default=1, help="intra-op threads for both")
    parser.add_argument("--rounds", type=int, default=None)
    args = parser.parse_args()
    size = "quick" if args.quick else "full"
    rounds = args.rounds or (3 if args.quick else 7)
    plan = (
        TimingPlan(warmup=20, min_calls=50, max_calls=1000, max_seconds=1.0)
        if args.quick
        else TimingPlan(warmup=50, min_calls=200, max_calls=5000, max_seconds=4.0)
    )

    with tempfile.TemporaryDirectory(prefix="bench-onnx-") as scratch:
        root = Path(scratch)
        frame = demo.breast_cancer_frame()
        print("training the default MLP on the demo data (3 epochs) ...", flush=True)
        config = TrainingConfig(label=demo.LABEL, max_epochs=3, device="cpu", num_threads=1)
        train(frame, config, root / "checkpoint", log=lambda line: None)
        print("exporting to ONNX (parity check on the demo rows) ...", flush=True)
        result = export_checkpoint(
            root / "checkpoint",
            root / "onnx",
            sample=frame,
            config=ExportConfig(latency_batches=()),
        )
        print(f"parity: max |diff| {result.parity.max_abs:.2e} on {result.parity.rows} rows")

        checkpoint = load_checkpoint(root / "checkpoint")
        spec = FeatureSpec.from_preprocessing(checkpoint.preprocessor.to_dict())
        module = serving_module(checkpoint.build_model(), spec)
        predictor = OnnxPredictor.load(result.onnx_path, threads=args.threads)
        print(
            f"model: {checkpoint.model_config['hidden_layers']} hidden, "
            f"{checkpoint.preprocessor.n_inputs} inputs; threads={args.threads}; "
            f"{rounds} rounds, {size} size",
            flush=True,
        )
        batches = (SMALL, LARGE)
        per_round: dict[str, dict[int, list]] = {"ort": {}, "torch": {}}
        for index in range(rounds):
            ort = onnx_latency(predictor, frame, batches=batches, threads=args.threads, plan=plan)
            eager = torch_latency(
                module, spec, frame, batches=batches, threads=args.threads, plan=plan
            )
            for batch in batches:
                per_round["ort"].setdefault(batch, []).append(ort[batch])
                per_round["torch"].setdefault(batch, []).append(eager[batch])
            print(
                f"round {index + 1}: batch {SMALL}: ort p50 {ort[SMALL].p50_ms * 1000:.1f} us, "
                f"torch p50 {eager[SMALL].p50_ms * 1000:.1f} us | batch {LARGE}: ort p50 "
                f"{ort[LARGE].p50_ms * 1000:.0f} us, torch p50 {eager[LARGE].p50_ms * 1000:.0f} us",
                flush=True,
            )

    def speedup(batch: int) -> float:
        """Median over rounds of torch p50 / onnxruntime p50 (each round times both, so
        they share the machine's load of that moment)."""
        pairs = zip(per_round["torch"][batch], per_round["ort"][batch], strict=True)
        return statistics.median(eager.p50_ms / ort.p50_ms for eager, ort in pairs)

    def median_p50(engine: str, batch: int) -> float:
        return statistics.median(s.p50_ms for s in per_round[engine][batch])

    ort_small, torch_small = median_p50("ort", SMALL), median_p50("torch", SMALL)
    ort_large, torch_large = median_p50("ort", LARGE), median_p50("torch", LARGE)
    calls = sum(s.calls for engine in per_round.values() for b in engine.values() for s in b)
    common = {"n": calls, "size": size, "threads": args.threads}
    print(
        json.dumps(
            {
                "bench": "onnx",
                "metric": "batch1_latency_speedup",
                "value": round(speedup(SMALL), 2),
                "target": 3.0,
                "better": "higher",
                "baseline": f"torch eager CPU p50 {torch_small * 1000:.1f} us "
                f"(onnxruntime {ort_small * 1000:.1f} us)",
                **common,
            }
        )
    )
    print(
        json.dumps(
            {
                "bench": "onnx",
                "metric": "batch1024_throughput_speedup",
                "value": round(speedup(LARGE), 2),
                "target": 1.5,
                "better": "higher",
                "baseline": f"torch eager CPU {LARGE / torch_large / 1000:.2f} M rows/s "
                f"(onnxruntime {LARGE / ort_large / 1000:.2f} M rows/s, p50 per batch)",
                **common,
            }
        )
    )


if __name__ == "__main__":
    main()
