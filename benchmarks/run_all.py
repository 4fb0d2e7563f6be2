"""Run the benchmarks and rewrite docs/benchmarks.md from their JSON result lines.

Usage: ``python benchmarks/run_all.py [--quick] [bench_name ...]``. Results are kept per
(bench, metric) in docs/benchmarks.json, so running a subset updates only its rows.
``--record LOG`` stores the result lines of a benchmark run earlier (its saved output) instead
of running anything; the machine line then carries the load average at recording time.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
DOCS = HERE.parent / "docs"
RESULTS = DOCS / "benchmarks.json"
REPORT = DOCS / "benchmarks.md"
#: prose appended under the table: why a target is missed, what a figure depends on
NOTES = HERE / "notes.md"


def machine() -> str:
    """Cores, memory, CPU model and load average (1, 5, 15 min) of this machine, in one line."""
    model = platform.processor() or "unknown CPU"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    memory_gib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    python = platform.python_version()
    load = "/".join(f"{value:.1f}" for value in os.getloadavg())
    cores = os.cpu_count()
    return f"{cores} cores, {memory_gib:.0f} GiB RAM, {model}, Python {python}, load {load}"


def result_lines(lines) -> list[dict]:
    """The JSON result lines (``{"bench": ...}``) among a benchmark's output lines."""
    results = []
    for line in lines:
        stripped = line.strip()
        if stripped.startswith("{") and '"bench"' in stripped:
            results.append(json.loads(stripped))
    return results


def run_one(script: Path, quick: bool) -> list[dict]:
    """Run one benchmark script, echo its output, return its JSON result lines."""
    argv = [sys.executable, str(script), *(["--quick"] if quick else [])]
    print(f"\n### {script.name}", flush=True)
    process = subprocess.Popen(argv, stdout=subprocess.PIPE, text=True, cwd=HERE.parent)
    assert process.stdout is not None
    output = []
    for line in process.stdout:
        print(line, end="", flush=True)
        output.append(line)
    results = result_lines(output)
    if process.wait() != 0:
        print(f"!!! {script.name} exited with {process.returncode}", flush=True)
    return results


def passed(row: dict) -> str:
    if row.get("target") is None:
        return ""
    ok = (
        row["value"] >= row["target"]
        if row["better"] == "higher"
        else row["value"] <= row["target"]
    )
    return "yes" if ok else "**no**"


def render(rows: list[dict]) -> str:
    lines = [
        "# Benchmarks",
        "",
        "Written by `make bench` (`benchmarks/run_all.py`); each figure is a ratio or a measure "
        "against a baseline taken in the same run. `size` says whether it comes from the "
        "`--quick` size or the full one.",
        "",
        "| bench | metric | value | target | better | met | baseline | n | size | machine | date |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for row in sorted(rows, key=lambda r: (r["bench"], r["metric"], r.get("size", ""))):
        lines.append(
            f"| {row['bench']} | {row['metric']} | {row['value']:.4g} | {row.get('target') or ''} "
            f"| {row.get('better', '')} | {passed(row)} | {row.get('baseline', '')} "
            f"| {row.get('n', '')} | {row.get('size', '')} | {row['machine']} | {row['date']} |"
        )
    notes = NOTES.read_text() if NOTES.exists() else ""
    return "\n".join(lines) + "\n" + (f"\n{notes}" if notes else "")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="smaller sizes, under a minute each")
    parser.add_argument("names", nargs="*", help="benchmarks to run, e.g. bench_parse")
    parser.add_argument(
        "--record",
        type=Path,
        action="append",
        default=[],
        metavar="LOG",
        help="store the results in a saved benchmark output; run nothing",
    )
    args = parser.parse_args()
    scripts = sorted(HERE.glob("bench_*.py"))
    if args.names:
        scripts = [s for s in scripts if s.stem in args.names or s.stem[6:] in args.names]
    stored = json.loads(RESULTS.read_text()) if RESULTS.exists() else []
    rows = {(r["bench"], r["metric"], r.get("size")): r for r in stored}
    runs = [lambda log=log: result_lines(log.read_text().splitlines()) for log in args.record]
    if not args.record:
        runs = [lambda script=script: run_one(script, args.quick) for script in scripts]
    for run in runs:
        results = run()
        # stamped after the run: the load average then covers the benchmark's own minutes
        stamp = {"machine": machine(), "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M")}
        for result in results:
            result.setdefault("size", "quick" if args.quick else "full")
            rows[(result["bench"], result["metric"], result["size"])] = {**result, **stamp}
    DOCS.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(list(rows.values()), indent=2, sort_keys=True) + "\n")
    REPORT.write_text(render(list(rows.values())))
    print(f"\nWrote {REPORT} ({len(rows)} results)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
