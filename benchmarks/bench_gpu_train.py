"""The training core on an NVIDIA GPU (CUDA) against the CPU of the same machine.

Both sides run :func:`airflow_mlops.training.loop.train` on the same synthetic table (30 numeric
features and one string column, a binary label that depends on them non-linearly), with the
same config and seed; only ``device`` differs. Then each checkpoint is loaded back on the CPU and
exported to ONNX with the parity check, so a checkpoint trained on CUDA is shown to behave like
one trained on the CPU.

There is no target: the project never depends on a GPU. Without a CUDA device the script says so
and reports nothing. It runs on the GPU machine's own torch (``PYTHONPATH=. python3
benchmarks/bench_gpu_train.py``); the figures are copied into docs/benchmarks.json by hand, with
that machine named.
Usage: python benchmarks/bench_gpu_train.py [--quick] [--rows N] [--devices cuda,cpu]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def synthetic_frame(rows: int, seed: int = 7):
    """30 float features, a 4-level string column and a non-linear binary label."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    x = rng.normal(size=(rows, 30)).astype("float32")
    site = rng.choice(np.array(["a", "b", "c", "d"]), size=rows)
    logit = x[:, 0] * x[:, 1] + np.sin(x[:, 2]) + 0.5 * x[:, 3] ** 2 - 0.5 + (site == "c")
    label = (logit + rng.normal(scale=0.5, size=rows) > 0).astype("int64")
    frame = pd.DataFrame(x, columns=[f"f{i}" for i in range(30)])
    frame["site"] = site
    frame["label"] = label
    return frame


def run_device(frame, config, device: str, workdir: Path) -> dict:
    """Train on ``device``, then export the checkpoint on the CPU with the parity check."""
    from airflow_mlops.export.exporter import export_checkpoint
    from airflow_mlops.training.checkpoint import load_checkpoint
    from airflow_mlops.training.loop import train

    checkpoint = workdir / f"ckpt-{device}"
    started = time.perf_counter()
    metrics = train(frame, dataclasses.replace(config, device=device), checkpoint, log=print)
    wall = time.perf_counter() - started
    loaded = load_checkpoint(checkpoint)  # loads on the CPU, whatever it was trained on
    n_parameters = sum(p.numel() for p in loaded.build_model().parameters())
    export = export_checkpoint(checkpoint, workdir / f"onnx-{device}", sample=frame.head(2_000))
    return {
        "device": metrics["device"],
        "epochs": metrics["epochs_run"],
        "epoch_seconds": metrics["train_seconds"] / metrics["epochs_run"],
        "wall_seconds": wall,
        "val_accuracy": metrics["val_accuracy"],
        "n_parameters": n_parameters,
        "parity_max_abs": export.parity.max_abs,
        "parity_ok": export.parity.ok,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="50k rows, 2 epochs")
    parser.add_argument("--rows", type=int, default=None)
    parser.add_argument("--devices", default="cuda,cpu", help="comma-separated; cuda first")
    args = parser.parse_args()
    import torch

    from airflow_mlops.training.config import TrainingConfig

    devices = args.devices.split(",")
    if "cuda" in devices and not torch.cuda.is_available():
        print(f"[bench gpu_train] no CUDA device visible to torch {torch.__version__}: skipped")
        return 0
    rows = args.rows or (50_000 if args.quick else 1_000_000)
    epochs = 2 if args.quick else 3
    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "none"
    print(
        f"[bench gpu_train] {rows} rows, {epochs} epochs, devices {devices}; torch "
        f"{torch.__version__}, GPU {gpu}, {torch.get_num_threads()} CPU threads"
    )
    frame = synthetic_frame(rows)
    config = TrainingConfig(
        label="label",
        hidden_layers=(256, 256),
        batch_size=1024,
        max_epochs=epochs,
        patience=epochs,
        seed=7,
    )
    with tempfile.TemporaryDirectory() as tmp:
        results = {d: run_device(frame, config, d, Path(tmp)) for d in devices}
    for device, result in results.items():
        print(f"[bench gpu_train] {device}: {json.dumps(result)}")
    common = {"bench": "gpu_train", "n": rows, "gpu": gpu, "torch": torch.__version__}
    for device, result in results.items():
        print(
            json.dumps(
                {
                    **common,
                    "metric": f"{device}_epoch_seconds",
                    "value": round(result["epoch_seconds"], 3),
                    "target": None,
                    "better": "lower",
                    "baseline": f"{rows} rows, MLP 256x256, batch 1024",
                }
            )
        )
    if "cuda" in results and "cpu" in results:
        cuda, cpu = results["cuda"], results["cpu"]
        rows_out = [
            ("epoch_speedup_cuda_vs_cpu", cpu["epoch_seconds"] / cuda["epoch_seconds"], None),
            ("val_accuracy_cuda_minus_cpu", cuda["val_accuracy"] - cpu["val_accuracy"], None),
            ("onnx_parity_max_abs_cuda_checkpoint", cuda["parity_max_abs"], 1e-4),
        ]
        for metric, value, target in rows_out:
            print(
                json.dumps(
                    {
                        **common,
                        "metric": metric,
                        "value": value,
                        "target": target,
                        "better": "lower" if target else "higher",
                        "baseline": "the same machine's CPU, same config and seed",
                    }
                )
            )
    return 0 if all(r["parity_ok"] for r in results.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
