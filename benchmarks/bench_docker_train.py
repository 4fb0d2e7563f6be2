"""Training in the container vs the same entrypoint on the host, and container start-up overhead.

Both sides run ``python -m airflow_mlops.training`` on the same synthetic data with the same
params and seed: the host through the operator's local backend (a subprocess), the container
through ``TrainInDockerOperator`` on the real engine (read-only data, no network, non-root).
Runs alternate which side goes first (host first in even runs, container first in odd ones), so
that neither side always inherits the other's page cache or load; the medians are compared, and
the load average is printed with each run.

Targets: training time in the container <= 1.05x the host's (the loop's own ``train_seconds``);
start-up overhead (wall time minus training time, container minus host) <= 5 s.
Usage: python benchmarks/bench_docker_train.py [--quick]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

REPO = Path(__file__).resolve().parents[1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small size, under a minute")
    parser.add_argument("--base", default="local/bookworm-py:base", help="training image base")
    parser.add_argument("--rows", type=int, help="rows of training data (overrides the size)")
    parser.add_argument("--epochs", type=int, help="epochs (overrides the size)")
    parser.add_argument("--repeats", type=int, help="runs of each side (overrides the size)")
    args = parser.parse_args()
    size = "quick" if args.quick else "full"
    rows, epochs, repeats = (10_000, 3, 2) if args.quick else (200_000, 6, 3)
    rows, epochs, repeats = args.rows or rows, args.epochs or epochs, args.repeats or repeats
    if (args.rows, args.epochs, args.repeats) != (None, None, None):
        size = f"{rows} rows x {epochs} epochs"

    from airflow_mlops.local.demo.synthetic import SyntheticGenerator
    from airflow_mlops.operators.training import TrainInDockerOperator
    from airflow_mlops.training.container import run_local
    from airflow_mlops.training.image import build_image

    print(f"[bench docker_train] size={size}: {rows} rows, {epochs} epochs, {repeats} runs each")
    image = build_image(REPO, base_image=args.base, log=lambda line: None)
    print(f"  image {image.tag} ({'built' if image.built else 'cached'} in {image.seconds} s)")
    work = Path(tempfile.mkdtemp(prefix="bench-docker-train-"))
    work.chmod(0o755)
    data = SyntheticGenerator.fit().write_parquet(work / "data" / "train.parquet", rows, seed=0)
    data.parent.chmod(0o755)
    data.chmod(0o644)
    params = {
        "label": "malignant", "max_epochs": epochs, "patience": epochs, "batch_size": 256,
        "hidden_layers": [128, 64], "num_threads": 2, "seed": 0,
    }  # fmt: skip
    context = {"ti": SimpleNamespace(dag_id="bench", run_id="r", task_id="t", map_index=-1)}
    samples: dict[str, list[tuple[float, float]]] = {"host": [], "container": []}
    for run in range(repeats):
        for side in ("host", "container") if run % 2 == 0 else ("container", "host"):
            out = work / f"{side}-{run}"
            started = time.monotonic()
            if side == "host":
                result = run_local(data, out, {**params, "device": "cpu"}, log=lambda line: None)
            else:
                result = TrainInDockerOperator(
                    task_id="bench", image=image.tag, data_path=str(data), output_dir=str(out),
                    training_params=params, gpu="none", mem_limit="4g",
                ).execute(context)  # fmt: skip
            wall = time.monotonic() - started
            train = result["metrics"]["train_seconds"]
            samples[side].append((wall, train))
            print(f"  run {run + 1} {side:9}: wall {wall:6.2f} s, training {train:6.2f} s, "
                  f"val_accuracy {result['metrics']['val_accuracy']:.4f}, "
                  f"load {os.getloadavg()[0]:.1f}")  # fmt: skip
    host_train = statistics.median(t for _, t in samples["host"])
    box_train = statistics.median(t for _, t in samples["container"])
    host_over = statistics.median(w - t for w, t in samples["host"])
    box_over = statistics.median(w - t for w, t in samples["container"])
    print(f"  median training: host {host_train:.2f} s, container {box_train:.2f} s")
    print(f"  median start-up + data + write: host {host_over:.2f} s, container {box_over:.2f} s")
    common = {"bench": "docker_train", "n": repeats, "size": size, "rows": rows}
    lines = [
        {**common, "metric": "container_vs_host_train_time_ratio",
         "value": round(box_train / host_train, 3), "target": 1.05, "better": "lower",
         "baseline": "same entrypoint on the host (subprocess)"},
        {**common, "metric": "container_startup_overhead_s",
         "value": round(box_over - host_over, 2), "target": 5.0, "better": "lower",
         "baseline": "host subprocess start-up"},
    ]  # fmt: skip
    for line in lines:
        print(json.dumps(line))
    return 0


if __name__ == "__main__":
    sys.exit(main())
