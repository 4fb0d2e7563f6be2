"""New data to CT: time from a new version landing in the registry to the CT run starting.

The event-driven path, in real Airflow processes: a DAG scheduled on an asset whose
``AssetWatcher`` runs :class:`~airflow_mlops.sensors.data.DvcNewVersionEventTrigger` in a
``airflow triggerer``, with ``airflow scheduler`` and ``airflow dag-processor`` as their own
processes on a SQLite metadata database (LocalExecutor). Once the watcher runs, the benchmark
publishes versions (``dvc add``, git commit and tag in the registry) and reads the database for
the DAG run that each one starts: latency = the run's ``start_date`` minus the moment the tag
landed. The consumer DAG has one empty task, so the figure is scheduling only.

Baseline: the 30-minute polling schedule of ``mlops_data_arrival`` (a version waits 15 minutes
on average, 30 at worst). Target: median latency < 10 s.
Usage: python benchmarks/bench_data_arrival.py [--quick] [--poke-interval S]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from airflow_mlops.local.demo.registry import dvc_argv, run_tool

DAG_ID = "bench_arrival_ct"
CONSUMER = """
import datetime as dt
from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.sdk import DAG, Asset, AssetWatcher
from airflow_mlops.sensors.data import DvcNewVersionEventTrigger

trigger = DvcNewVersionEventTrigger(
    dataset="bench", registry={registry!r}, target="data/train.csv", refs="refs/tags/*",
    mirrors_dir={mirrors!r}, poke_interval={poke},
)
data = Asset("x-mlops://data/bench", watchers=[AssetWatcher(name="new_version", trigger=trigger)])
with DAG({dag_id!r}, schedule=[data], start_date=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
         catchup=False, max_active_runs=1):
    EmptyOperator(task_id="train")
"""


def publish(repo: Path, version: int) -> float:
    """Write, ``dvc add``, commit and tag version ``version``; returns when the tag landed."""
    (repo / "data" / "train.csv").write_text("x,y\n" + f"{version},{version * 2}\n" * 100)
    run_tool(dvc_argv("add", "-q", "data/train.csv"), repo)
    run_tool(["git", "add", "data/train.csv.dvc"], repo)
    run_tool(["git", "commit", "-q", "-m", f"version {version}"], repo)
    run_tool(["git", "tag", f"v{version}"], repo)
    return time.time()


def registry(root: Path) -> Path:
    repo = root / "registry"
    (repo / "data").mkdir(parents=True)
    run_tool(["git", "init", "-q", "-b", "main"], repo)
    run_tool(dvc_argv("init", "-q"), repo)
    (repo / "data" / ".gitignore").write_text("/train.csv\n")
    run_tool(["git", "add", "-A"], repo)
    publish(repo, 0)
    return repo


def runs(db: Path) -> list[tuple[str, float | None, float | None]]:
    """(run_id, queued_at, start_date) of the consumer's runs, as epoch seconds."""
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5) as conn:
        rows = conn.execute(
            "SELECT run_id, queued_at, start_date FROM dag_run WHERE dag_id = ?", (DAG_ID,)
        ).fetchall()

    def epoch(value: str | None) -> float | None:
        if not value:
            return None
        stamp = dt.datetime.fromisoformat(value)
        return stamp.replace(tzinfo=stamp.tzinfo or dt.UTC).timestamp()

    return [(run_id, epoch(queued), epoch(started)) for run_id, queued, started in rows]


def watcher_running(db: Path) -> bool:
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5) as conn:
        return bool(
            conn.execute(
                "SELECT count(*) FROM trigger WHERE classpath LIKE '%DvcNewVersionEventTrigger' "
                "AND triggerer_id IS NOT NULL"
            ).fetchone()[0]
        )


def wait(what: str, check, timeout: float, processes: dict) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for name, process in processes.items():
            if process.poll() is not None:
                raise RuntimeError(f"airflow {name} exited with {process.returncode}")
        try:
            if check():
                return
        except sqlite3.OperationalError:
            pass
        time.sleep(0.2)
    raise TimeoutError(f"{what} after {timeout:.0f} s")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="3 versions instead of 6")
    parser.add_argument("--poke-interval", type=float, default=5.0, help="watcher poll, s")
    args = parser.parse_args()
    versions = 3 if args.quick else 6
    root = Path(tempfile.mkdtemp(prefix="bench-data-arrival-"))
    home, dags = root / "airflow", root / "dags"
    dags.mkdir(parents=True)
    repo = registry(root)
    (dags / "arrival_ct.py").write_text(
        CONSUMER.format(
            registry=str(repo), mirrors=str(root / "mirrors"), poke=args.poke_interval,
            dag_id=DAG_ID,
        )
    )  # fmt: skip
    db = home / "airflow.db"
    env = {
        **os.environ,
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{db}",
        "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
        "AIRFLOW__CORE__DAGS_FOLDER": str(dags),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
        "AIRFLOW__CORE__UNIT_TEST_MODE": "False",
        "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
        "DVC_NO_ANALYTICS": "1",
    }
    airflow = str(Path(sys.executable).with_name("airflow"))
    print(f"[bench data_arrival] {versions} versions, watcher poll {args.poke_interval} s, {root}")
    started = time.monotonic()
    subprocess.run([airflow, "db", "migrate"], env=env, check=True, capture_output=True)
    print(f"  db migrate {time.monotonic() - started:.0f} s", flush=True)
    processes = {}
    try:
        for name in ("dag-processor", "scheduler", "triggerer"):
            log = (root / f"{name}.log").open("w")
            processes[name] = subprocess.Popen(
                [airflow, name], env=env, stdout=log, stderr=subprocess.STDOUT
            )
        wait("the watcher never ran", lambda: watcher_running(db), 300, processes)
        print(f"  watcher running after {time.monotonic() - started:.0f} s", flush=True)
        # the trigger's first poll takes the versions already there as its baseline
        time.sleep(2 * args.poke_interval + 2)
        latencies = []
        for version in range(1, versions + 1):
            before = {run_id for run_id, _, _ in runs(db)}
            landed = publish(repo, version)

            def started_run(before: set[str] = before) -> tuple | None:
                new = [r for r in runs(db) if r[0] not in before and r[2] is not None]
                return new[0] if new else None

            wait(f"no run for version {version}", started_run, 120, processes)
            _, queued, start = started_run()
            latencies.append(start - landed)
            print(
                f"  v{version}: run queued after {queued - landed:.2f} s, started after "
                f"{start - landed:.2f} s (load {os.getloadavg()[0]:.1f})",
                flush=True,
            )
            # let the run finish, so that max_active_runs does not hold the next one back
            time.sleep(args.poke_interval + 3)
    finally:
        for process in processes.values():
            process.terminate()
        for process in processes.values():
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
    median = statistics.median(latencies)
    common = {"bench": "data_arrival", "n": versions, "size": "quick" if args.quick else "full"}
    print(json.dumps({
        **common, "metric": "new_version_to_run_start_s", "value": round(median, 2),
        "target": 10, "better": "lower",
        "baseline": f"polling every 30 min: 900 s on average (watcher poll {args.poke_interval} "
        f"s, max {max(latencies):.1f} s)",
    }))  # fmt: skip
    shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
