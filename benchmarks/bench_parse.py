"""Parse time of dags/ against hand-written DAGs of the same shape, parsed as Airflow does.

Baseline: ``benchmarks/baseline_dags/``, five hand-written files with the same task counts as
``dags/`` (9, 9, 7, 2, 1), the same schedules (none, asset-or-time, cron) and run-form params,
built from stock ``DockerOperator``, ``PythonOperator``, ``@task``, ``TriggerDagRunOperator``
and ``PythonSensor``.

Each side runs in a fresh driver interpreter that has imported Airflow's DAG processor and then
frozen the garbage collector's generations (``gc.freeze()``), as the ``airflow dag-processor``
manager does before its parsing loop, so a child's collections do not walk the parent's heap.
For every file the driver forks a child, as the manager does, and the child times what the
processor's child does: fill a ``BundleDagBag`` from that one file and serialize its DAGs. Two
modes:

- ``processor``: before each fork the driver pre-imports the ``airflow.*`` modules the file
  names (``[dag_processor] parsing_pre_import_modules``, on by default), untimed, as the manager;
- ``cold``: no pre-import, so each child pays all of its file's imports.

Rounds alternate which side goes first; the figure is the median over rounds of the ratio of the
per-side sums. Target: ``processor`` ratio <= 1.0.
Usage: python benchmarks/bench_parse.py [--quick]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DAGS = ROOT / "dags"
BASELINE = ROOT / "benchmarks" / "baseline_dags"
DRIVER = """
import gc, json, os, sys, time, warnings
warnings.simplefilter("ignore")
import structlog
from pathlib import Path
from airflow.dag_processing.dagbag import BundleDagBag
from airflow.dag_processing import processor
files, pre_import = json.loads(sys.argv[1]), sys.argv[2] == "1"
log = structlog.get_logger()
out = {}
gc.freeze()
for name in files:
    path = Path(name)
    if pre_import:
        processor._pre_import_airflow_modules(name, log)
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read)
        start = time.perf_counter()
        bag = BundleDagBag(dag_folder=path, bundle_path=path.parent, load_op_links=False)
        dags, errors = processor._serialize_dags(bag, log)
        elapsed = time.perf_counter() - start
        assert not bag.import_errors and not errors, (bag.import_errors, errors)
        os.write(write, json.dumps([elapsed, len(dags)]).encode())
        os._exit(0)
    os.close(write)
    data = b""
    while chunk := os.read(read, 4096):
        data += chunk
    os.close(read)
    _, status = os.waitpid(pid, 0)
    assert status == 0 and data, f"parsing {name} failed"
    out[name] = json.loads(data)
print("RESULT " + json.dumps(out))
"""


def dag_files(folder: Path) -> list[str]:
    return sorted(str(p) for p in folder.glob("*.py") if not p.name.startswith("_"))


def parse(files: list[str], pre_import: bool) -> tuple[float, int]:
    """Seconds to parse ``files`` (one forked child each) and the number of DAGs they hold."""
    out = subprocess.run(
        [sys.executable, "-c", DRIVER, json.dumps(files), "1" if pre_import else "0"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONWARNINGS": "ignore"},
    )
    if out.returncode != 0:
        raise RuntimeError(out.stderr[-3000:])
    result = json.loads(out.stdout.split("RESULT ", 1)[1])
    return sum(s for s, _ in result.values()), sum(n for _, n in result.values())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="3 rounds instead of 7")
    quick = parser.parse_args().quick
    rounds = 3 if quick else 7
    sides = {"dags/": dag_files(DAGS), "hand-written": dag_files(BASELINE)}
    load = os.getloadavg()[0]
    print(f"[bench parse] {rounds} rounds, load average {load:.1f} at start", flush=True)
    lines = []
    for mode, pre_import in (("processor", True), ("cold", False)):
        ratios, ours_ms = [], []
        for r in range(rounds):
            order = list(sides) if r % 2 == 0 else list(reversed(sides))
            seconds = {side: parse(sides[side], pre_import)[0] for side in order}
            ratios.append(seconds["dags/"] / seconds["hand-written"])
            ours_ms.append(seconds["dags/"] * 1000 / len(sides["dags/"]))
            print(
                f"  {mode} round {r} ({order[0]} first): dags/ {seconds['dags/'] * 1000:.0f} ms, "
                f"hand-written {seconds['hand-written'] * 1000:.0f} ms, ratio {ratios[-1]:.2f}",
                flush=True,
            )
        common = {
            "bench": "parse",
            "n": rounds,
            "better": "lower",
            "size": "quick" if quick else "full",
        }
        lines += [
            {
                **common,
                "metric": f"dags_parse_time_ratio_{mode}",
                "value": round(statistics.median(ratios), 3),
                "target": 1.0 if mode == "processor" else None,
                "baseline": "5 hand-written DAG files, same tasks and schedules, stock operators",
            },
            {
                **common,
                "metric": f"dags_parse_ms_per_file_{mode}",
                "value": round(statistics.median(ours_ms), 1),
                "baseline": "dags/, one forked child per file (parse + serialize)",
            },
        ]
    print(f"  load average {os.getloadavg()[0]:.1f} at end")
    for line in lines:
        print(json.dumps({k: v for k, v in line.items() if v is not None}))


if __name__ == "__main__":
    main()
