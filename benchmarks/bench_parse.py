"""Parse time of dags/ against the same number of trivial DAG files (target: <= 1.2x).

Each measurement runs in a fresh interpreter with Airflow already imported, as the DAG
processor does, and times only the DagBag fill. Alternating rounds; the median ratio is reported.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

DAGS = Path(__file__).resolve().parents[1] / "dags"
TRIVIAL = """
import datetime
from airflow.sdk import DAG
from airflow.providers.standard.operators.empty import EmptyOperator

with DAG("trivial_{i}", schedule=None, start_date=datetime.datetime(2026, 1, 1)):
    EmptyOperator(task_id="a") >> EmptyOperator(task_id="b")
"""
TIMER = """
import time, warnings
warnings.simplefilter("ignore")
from pathlib import Path
from airflow.dag_processing.dagbag import BundleDagBag
folder = Path({folder!r})
start = time.perf_counter()
bag = BundleDagBag(dag_folder=folder, bundle_path=folder, safe_mode=False)
elapsed = time.perf_counter() - start
assert not bag.import_errors, bag.import_errors
print(elapsed, len(bag.dags))
"""


def parse_seconds(folder: Path) -> tuple[float, int]:
    out = subprocess.run(
        [sys.executable, "-c", TIMER.format(folder=str(folder))],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    return float(out[-2]), int(out[-1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    rounds = 3 if parser.parse_args().quick else 7
    files = sorted(p for p in DAGS.glob("*.py") if not p.name.startswith("_"))
    with tempfile.TemporaryDirectory() as tmp:
        trivial = Path(tmp)
        for i in range(max(len(files), 1)):
            (trivial / f"trivial_{i}.py").write_text(TRIVIAL.format(i=i))
        ratios, per_file = [], []
        for r in range(rounds):
            ours, n_dags = parse_seconds(DAGS)
            base, _ = parse_seconds(trivial)
            ratios.append(ours / base)
            per_file.append(ours * 1000 / len(files))
            print(
                f"round {r}: dags/ {ours * 1000:.0f} ms ({n_dags} DAGs in {len(files)} files), "
                f"trivial {base * 1000:.0f} ms, ratio {ours / base:.2f}",
                flush=True,
            )
    print(
        json.dumps(
            {
                "bench": "parse",
                "metric": "dags_parse_ms_per_file",
                "value": round(statistics.median(per_file), 1),
                "better": "lower",
                "baseline": "dags/ parsed in a fresh interpreter (Airflow imported), per file",
                "n": rounds,
            }
        )
    )
    print(
        json.dumps(
            {
                "bench": "parse",
                "metric": "dags_parse_time_ratio",
                "value": statistics.median(ratios),
                "target": 1.2,
                "better": "lower",
                "baseline": f"{len(files)} trivial DAG files",
                "n": rounds,
            }
        )
    )


if __name__ == "__main__":
    main()
