"""MLOps page API on a registry with many versions (target: one model's view in < 500 ms).

A real MLflow server (SQLite) holds one model with N versions, each from its own run with
metrics and lineage tags, plus drift runs. The project's ``model_view`` (a fixed number of
search calls) is timed cold, uncached, against the naive way: one ``get_model_version`` and
one ``get_run`` per version. Same server, same run.
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

MODEL = "bench-model"


def populate(db_uri: str, versions: int) -> None:
    """Write the registry straight into the server's database (fast: no HTTP)."""
    from mlflow import MlflowClient
    from mlflow.entities import Metric, RunTag

    client = MlflowClient(db_uri, db_uri)
    experiment = client.create_experiment(f"train/{MODEL}")
    client.create_registered_model(MODEL)
    now = int(time.time() * 1000)
    for number in range(1, versions + 1):
        run = client.create_run(experiment, tags={"mlops.model": MODEL})
        run_id = run.info.run_id
        client.log_batch(
            run_id,
            metrics=[
                Metric("val_accuracy", 0.8 + (number % 17) / 100, now, 0),
                Metric("val_loss", 0.3 - (number % 17) / 100, now, 0),
            ],
            tags=[RunTag("mlops.report_uri", f"http://reports/{number}.html")],
        )
        client.create_model_version(
            MODEL,
            f"runs:/{run_id}/model",
            run_id=run_id,
            tags={
                "mlops.data_rev": f"v{number}",
                "mlops.data_md5": f"{number:032x}",
                "mlops.git_sha": f"{number:040x}",
                "mlops.image_digest": f"sha256:{number:064x}",
                "mlops.trigger": "schedule",
                "mlops.dag_id": "mlops_level1_ct",
                "mlops.run_id": f"scheduled__{number}",
                "mlops.gate_decision": "promote" if number % 3 else "reject",
                "mlops.gate_reasons": json.dumps([f"reason {number}"]),
                "mlops.params": json.dumps({"epochs": 10}),
            },
        )
        if number % 200 == 0:
            print(f"  registered {number}/{versions} versions", flush=True)
    client.set_registered_model_alias(MODEL, "champion", str(versions - 1))
    client.set_registered_model_alias(MODEL, "challenger", str(versions))
    monitoring = client.create_experiment(f"monitoring/{MODEL}")
    for day in range(30):
        run = client.create_run(monitoring, tags={"mlops.model": MODEL})
        client.log_metric(run.info.run_id, "drift_share", day / 60)


def naive_view(uri: str) -> list[dict]:
    """The baseline: what a page would do with one MlflowClient call per version."""
    from mlflow import MlflowClient

    client = MlflowClient(uri, uri)
    aliases = client.get_registered_model(MODEL).aliases
    rows = []
    for listed in client.search_model_versions(f"name = '{MODEL}'"):
        version = client.get_model_version(MODEL, listed.version)
        run = client.get_run(version.run_id)
        rows.append(
            {
                "version": version.version,
                "aliases": [a for a, v in aliases.items() if str(v) == str(version.version)],
                "tags": version.tags,
                "metrics": run.data.metrics,
            }
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    size = "quick" if args.quick else "full"
    versions = 100 if args.quick else 1000
    repeats = 3 if args.quick else 5

    from airflow_mlops.dashboard import LinkBuilder, model_view
    from airflow_mlops.services import free_port, mlflow_server_spec, start_service, stop_service

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        spec = mlflow_server_spec(root / "store", free_port())
        print(f"populating {versions} versions ...", flush=True)
        started = time.perf_counter()
        populate(f"sqlite:///{root / 'store' / 'mlflow.db'}", versions)
        print(f"  done in {time.perf_counter() - started:.1f} s; starting MLflow", flush=True)
        service = start_service(spec, run_dir=root / "run", log_dir=root / "logs")
        uri = f"http://127.0.0.1:{spec.port}"
        links = LinkBuilder(mlflow_ui_url=uri)
        try:
            model_view(uri, MODEL, links)  # warm the server and imports, as a running API is
            times = []
            for _ in range(repeats):
                start = time.perf_counter()
                view = model_view(uri, MODEL, links)
                json.dumps(view)
                times.append((time.perf_counter() - start) * 1000)
            assert len(view["versions"]) == versions and view["champion"]["metrics"]
            project_ms = statistics.median(times)
            print(f"model_view, cold: median {project_ms:.0f} ms over {repeats}", flush=True)
            start = time.perf_counter()
            rows = naive_view(uri)
            naive_ms = (time.perf_counter() - start) * 1000
            assert len(rows) == versions
            print(f"naive per-version calls: {naive_ms:.0f} ms", flush=True)
        finally:
            stop_service(service.name, root / "run")

    load = round(os.getloadavg()[0], 1)
    print(f"load average during the run: {load} on {os.cpu_count()} cores", flush=True)
    common = {"bench": "ui_api", "n": versions, "size": size, "load_avg": load}
    baseline = "naive per-version MlflowClient calls (get_model_version + get_run)"
    results = [
        {
            "metric": "model_view_ms",
            "value": round(project_ms, 1),
            "target": 500,
            "better": "lower",
            "baseline": baseline,
            "baseline_value": round(naive_ms, 1),
        },
        {
            "metric": "speedup_vs_naive",
            "value": round(naive_ms / project_ms, 2),
            "target": 1.0,
            "better": "higher",
            "baseline": baseline,
        },
    ]
    for result in results:
        print(json.dumps({**common, **result}))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
