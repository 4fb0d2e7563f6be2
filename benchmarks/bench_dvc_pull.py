"""DVC pull vs plain ``cp`` of the same files, and a no-op pull of a cached version.

Builds a DVC registry holding a dataset directory of synthetic CSV shards (~500 MB full,
~50 MB with --quick) pushed to a local-directory remote, then measures in one run:

1. ``cp -r`` of the remote's object files into a fresh directory (the baseline);
2. :func:`airflow_mlops.data.dvc.pull` of that version into a workspace with an empty cache;
3. the same pull into another workspace once the version is cached.

Targets: (2) / (1) <= 1.5 and (3) < 1 s. Each figure is the median of ``--repeat`` runs.
Dirty pages are written out (``sync``) before each timed step, so that no step pays for the
previous one's writeback, and (1) and (2)+(3) take turns going first.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from airflow_mlops.data.dvc import pull
from airflow_mlops.data.dvc_remote import RemoteSpec
from airflow_mlops.local.demo.registry import dvc_argv, run_tool


def build_registry(root: Path, total_mb: int, shards: int) -> tuple[Path, Path]:
    """A git + DVC registry with ``data/shards`` (``shards`` CSV files) pushed to a remote."""
    from airflow_mlops.local.demo.synthetic import SyntheticGenerator

    repo, remote = root / "repo", root / "remote"
    data = repo / "data" / "shards"
    data.mkdir(parents=True)
    generator = SyntheticGenerator.fit()
    chunk = next(generator.chunks(2_000, seed=0))  # small blocks, so shards reach their size
    block = chunk.to_csv(index=False).encode()
    per_shard = total_mb * 1_000_000 // shards
    for index in range(shards):
        # every shard ends with a different row, so each is its own DVC object
        tail = chunk.iloc[[index % len(chunk)]].to_csv(index=False, header=False).encode()
        with (data / f"part-{index:03d}.csv").open("wb") as handle:
            for _ in range(max(1, per_shard // len(block))):
                handle.write(block)
            handle.write(tail)
    run_tool(["git", "init", "-q", "-b", "main"], repo)
    run_tool(dvc_argv("init", "-q"), repo)
    run_tool(dvc_argv("remote", "add", "-d", "local", str(remote)), repo)
    run_tool(dvc_argv("add", "-q", "data/shards"), repo)
    run_tool(["git", "add", "-A"], repo)
    run_tool(["git", "commit", "-q", "-m", "data"], repo)
    run_tool(["git", "tag", "v1"], repo)
    run_tool(dvc_argv("push", "-q"), repo)
    return repo, remote


def timed(action) -> float:
    os.sync()
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="~50 MB instead of ~500 MB")
    parser.add_argument("--repeat", type=int, default=8)
    args = parser.parse_args()
    total_mb, shards, size = (50, 10, "quick") if args.quick else (500, 50, "full")

    root = Path(tempfile.mkdtemp(prefix="bench-dvc-pull-"))
    try:
        print(f"building a registry with {total_mb} MB in {shards} shards under {root} ...")
        repo, remote = build_registry(root, total_mb, shards)
        nbytes = sum(p.stat().st_size for p in (repo / "data" / "shards").iterdir())
        print(f"dataset: {nbytes / 1e6:.0f} MB")
        spec = RemoteSpec(url=str(remote))
        cp_times, cold_times, warm_times = [], [], []

        def pull_into(workspace: Path, cache: Path) -> None:
            pull(
                str(repo),
                ["data/shards"],
                rev="v1",
                workspace=workspace,
                cache_dir=cache,
                remote=spec,
            )

        for attempt in range(args.repeat):
            run = root / f"run-{attempt}"
            run.mkdir()

            def copy(run: Path = run) -> None:
                copy_argv = ["cp", "-r", str(remote / "files"), str(run / "copy")]
                cp_times.append(timed(lambda: subprocess.run(copy_argv, check=True)))

            def pulls(run: Path = run) -> None:
                cold_times.append(timed(lambda: pull_into(run / "ws-cold", run / "cache")))
                warm_times.append(timed(lambda: pull_into(run / "ws-warm", run / "cache")))

            # the second big write after a sync is often slowed down (disk writeback), so cp and
            # the pulls take turns going first
            for step in (copy, pulls) if attempt % 2 == 0 else (pulls, copy):
                step()
            print(
                f"run {attempt + 1}: cp {cp_times[-1]:.2f} s, pull (empty cache) "
                f"{cold_times[-1]:.2f} s, pull (cached) {warm_times[-1]:.3f} s"
            )
            shutil.rmtree(run)
        cp_s, cold_s, warm_s = (statistics.median(t) for t in (cp_times, cold_times, warm_times))
        common = {"n": args.repeat, "size": size}
        print(
            json.dumps(
                {
                    "bench": "dvc_pull",
                    "metric": "pull_vs_cp_ratio",
                    "value": round(cold_s / cp_s, 3),
                    "target": 1.5,
                    "better": "lower",
                    "baseline": f"cp -r of the same {nbytes / 1e6:.0f} MB ({cp_s:.2f} s)",
                    **common,
                }
            )
        )
        print(
            json.dumps(
                {
                    "bench": "dvc_pull",
                    "metric": "cached_pull_seconds",
                    "value": round(warm_s, 3),
                    "target": 1.0,
                    "better": "lower",
                    "baseline": f"pull with an empty cache ({cold_s:.2f} s)",
                    **common,
                }
            )
        )
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
