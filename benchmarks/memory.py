"""What the memory benchmarks share: synthetic Parquet data in row groups, peak RSS of a child
process, the reader before flat memory (the baseline), and the machine's load.

Not a benchmark itself (``run_all.py`` runs only ``bench_*.py``).
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

LABEL = "malignant"
#: rows per row group of the generated files (the inference log's own row group size)
ROW_GROUP_ROWS = 262_144
DATA_DIR = Path(os.environ.get("BENCH_DATA_DIR", "/tmp/airflow-mlops-bench-data"))
#: set (to anything) to add the 100M-row sizes (about 12 GB of Parquet under DATA_DIR)
FULL_ENV = "AIRFLOW_MLOPS_BENCH_100M"


def synthetic_parquet(
    path: Path, rows: int, seed: int, shift: dict[str, float] | None = None, say=print
) -> Path:
    """``rows`` demo-schema rows (30 float32 features and ``clinic``, no label) written as Parquet
    row groups of :data:`ROW_GROUP_ROWS` rows; kept and reused when it exists."""
    from airflow_mlops.local.demo.synthetic import SyntheticGenerator
    from airflow_mlops.monitoring.sources import write_parquet

    if path.exists():
        return path
    started = time.perf_counter()
    chunks = SyntheticGenerator.fit().chunks(
        rows, seed=seed, chunk_rows=ROW_GROUP_ROWS, shift=shift
    )
    write_parquet((c.drop(columns=[LABEL]) for c in chunks), path)
    say(f"wrote {rows:,} rows to {path} in {time.perf_counter() - started:.1f} s")
    return path


def repeated(folder: Path, part: Path, copies: int) -> Path:
    """A partitioned dataset of ``copies`` links to ``part`` (``copies`` x its rows, no disk)."""
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(copies):
        link = folder / f"part-{i:03d}.parquet"
        if not link.exists():
            link.symlink_to(part.resolve())
    return folder


def peak_rss_gb() -> float:
    """This process's peak resident memory (VmHWM: unlike ru_maxrss, not inherited through
    fork from the parent)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 2**20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20


def run_child(script: str, args: list[str], timeout: float, say=print) -> dict | None:
    """Run ``script --child ARGS`` in a fresh interpreter and return the JSON object on its last
    line; None when it fails (memory cap, timeout)."""
    command = [sys.executable, script, "--child", *args]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        say(f"{args[0]} timed out after {timeout:.0f} s")
        return None
    if done.returncode != 0:
        say(f"{args[0]} failed (rc {done.returncode}): {done.stderr.strip()[-400:]}")
        return None
    return json.loads(done.stdout.strip().splitlines()[-1])


def whole_file_batches(path: Any, columns: Sequence[str], batch_rows: int) -> Iterator[Any]:
    """The reader before flat memory: one ``iter_batches`` over the whole file."""
    import pyarrow.parquet as pq

    yield from pq.ParquetFile(path).iter_batches(batch_size=batch_rows, columns=list(columns))


def use_reader(kind: str) -> None:
    """Make every Parquet source read with ``kind``: "row_groups" (the library's reader) or
    "whole_file" (the baseline)."""
    from airflow_mlops.monitoring import sources

    readers: dict[str, Callable[..., Iterator[Any]]] = {
        "row_groups": sources.parquet_batches,
        "whole_file": whole_file_batches,
    }
    sources.parquet_batches = readers[kind]


def load() -> str:
    """The load averages (1, 5, 15 min) on this machine, for the result lines."""
    one, five, fifteen = os.getloadavg()
    return f"load {one:.1f}/{five:.1f}/{fifteen:.1f} on {os.cpu_count()} cores"


def size_label(rows: int) -> str:
    return f"{rows // 10**6}M" if rows >= 10**6 else f"{rows // 10**3}k"
