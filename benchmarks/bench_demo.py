"""The level-1 story on the real stack: demo wall time, a full CT run's per-task breakdown, its
scheduling overhead (the run's wall time minus the time some task was running), and an
unchanged rerun against a full run (targets: demo < 300 s, no-op run <= 10% of a full run).

Runs the same story as ``airflow-mlops demo`` in a temporary home on free ports; the training
image must be built already (the demo's level-2 step reuses it by content hash).
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from datetime import datetime
from pathlib import Path

from airflow_mlops.local.demo.registry import bootstrap_registry
from airflow_mlops.local.demo.story import CT_DAG, docker_backend, run_story
from airflow_mlops.local.services import free_port
from airflow_mlops.local.stack import StackConfig, down, up
from airflow_mlops.settings import MlopsHome

REPO = Path(__file__).resolve().parents[1]


def seconds(start: str | None, end: str | None) -> float:
    if not start or not end:
        return 0.0
    return (datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds()


def busy_seconds(tasks: list[dict]) -> float:
    """The time at least one of ``tasks`` was running (their intervals merged)."""
    spans = sorted((t["start_date"], t["end_date"]) for t in tasks if t["start_date"])
    busy, end = 0.0, None
    for start, stop in spans:
        if end is None or start > end:
            busy += seconds(start, stop)
            end = stop
        elif stop and stop > end:
            busy += seconds(end, stop)
            end = stop
    return busy


def main() -> None:
    argparse.ArgumentParser(description=__doc__).add_argument("--quick", action="store_true")
    with tempfile.TemporaryDirectory() as tmp:
        home = MlopsHome(Path(tmp))
        os.environ["AIRFLOW_MLOPS_HOME"] = tmp
        os.environ["AIRFLOW_MLOPS_TRAINING_BACKEND"] = docker_backend(REPO)
        config = StackConfig(home, REPO / "dags", free_port(), free_port())
        started = time.monotonic()
        bootstrap_registry(home.registry_repo, home.dvc_remote)
        up(config)
        try:
            story = run_story(config)
            wall = time.monotonic() - started
            full = next(r for r in story.steps[1].runs if r["dag_id"] == CT_DAG)
            noop = story.steps[3].runs[0]
            tasks = story.api.request(
                "GET", f"/dags/{CT_DAG}/dagRuns/{full['dag_run_id']}/taskInstances"
            )["task_instances"]
        finally:
            down(config)
    print("full CT run, per task:")
    for ti in sorted(tasks, key=lambda t: t["start_date"] or ""):
        print(f"  {ti['task_id']:22s} {seconds(ti['start_date'], ti['end_date']):6.1f} s")
    full_s = seconds(full["start_date"], full["end_date"])
    noop_s = seconds(noop["start_date"], noop["end_date"])
    overhead_s = full_s - busy_seconds(tasks)
    print(f"full run {full_s:.1f} s ({overhead_s:.1f} s with no task running), unchanged rerun "
          f"{noop_s:.1f} s, demo {wall:.0f} s")  # fmt: skip
    backend = os.environ["AIRFLOW_MLOPS_TRAINING_BACKEND"]
    for metric, value, target, baseline in (
        ("demo_wall_seconds", round(wall, 1), 300, f"whole story, backend {backend}"),
        ("noop_rerun_ratio", round(noop_s / full_s, 3), 0.10, f"full CT run {full_s:.1f} s"),
        (
            "ct_scheduling_overhead_s",
            round(overhead_s, 1),
            None,
            f"full CT run {full_s:.1f} s, {len(tasks)} tasks",
        ),
    ):
        print(json.dumps({"bench": "demo", "metric": metric, "value": value, "target": target,
                          "better": "lower", "baseline": baseline, "n": 1}))  # fmt: skip


if __name__ == "__main__":
    main()
