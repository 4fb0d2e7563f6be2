"""DVC pull vs plain copies of the same objects: a local remote against ``cp``, and an S3
remote (moto server) through DVC against a parallel boto3 download; a no-op pull of a cached
version.

Builds a DVC registry holding a dataset directory of synthetic CSV shards (~500 MB full,
~50 MB with --quick) pushed to a local-directory remote, then measures in one run:

1. ``cp -r`` of the remote's object files into a fresh directory (the baseline);
2. :func:`airflow_mlops.data.dvc.pull` of that version into a workspace with an empty cache
   (the project's own copy path for local remotes);
3. the same pull into another workspace once the version is cached;
4. the same objects pushed by DVC to a bucket of a moto S3 server (its own process): a
   download of every object with boto3 in ``--jobs`` threads (the baseline), against
   :func:`pull` from that bucket with an empty cache, which goes through DVC (``dvc-s3``)
   with ``jobs=--jobs``.

Targets: (2) / (1) <= 1.5, (3) < 1 s and (4) <= 1.5. Each figure is the median of
``--repeat`` runs. Dirty pages are written out (``sync``) before each timed step, so that no
step pays for the previous one's writeback, and the sides take turns going first.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

from airflow_mlops.data.dvc import pull
from airflow_mlops.data.dvc_remote import RemoteSpec
from airflow_mlops.local.demo.registry import dvc_argv, run_tool

BUCKET = "bench-dvc"
#: parallel transfers on both sides of the S3 comparison (DVC's own default is 4 per core)
S3_JOBS = 8


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
    parser.add_argument("--jobs", type=int, default=S3_JOBS, help="parallel S3 transfers")
    parser.add_argument("--s3-only", action="store_true", help="only the S3 comparison")
    args = parser.parse_args()
    total_mb, shards, size = (50, 10, "quick") if args.quick else (500, 50, "full")

    root = Path(tempfile.mkdtemp(prefix="bench-dvc-pull-"))
    try:
        print(f"building a registry with {total_mb} MB in {shards} shards under {root} ...")
        repo, remote = build_registry(root, total_mb, shards)
        nbytes = sum(p.stat().st_size for p in (repo / "data" / "shards").iterdir())
        print(f"dataset: {nbytes / 1e6:.0f} MB")
        lines = [] if args.s3_only else local_figures(repo, remote, root, nbytes, args.repeat)
        lines.append(s3_figure(repo, root, nbytes, args.repeat, args.jobs))
        for line in lines:
            print(json.dumps({**line, "n": args.repeat, "size": size}))
    finally:
        shutil.rmtree(root, ignore_errors=True)


def local_figures(repo: Path, remote: Path, root: Path, nbytes: int, repeat: int) -> list[dict]:
    """(1) to (3): the local remote's copy path against ``cp -r``, and a cached pull."""
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

    for attempt in range(repeat):
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
    return [
        {
            "bench": "dvc_pull",
            "metric": "pull_vs_cp_ratio",
            "value": round(cold_s / cp_s, 3),
            "target": 1.5,
            "better": "lower",
            "baseline": f"cp -r of the same {nbytes / 1e6:.0f} MB ({cp_s:.2f} s)",
        },
        {
            "bench": "dvc_pull",
            "metric": "cached_pull_seconds",
            "value": round(warm_s, 3),
            "target": 1.0,
            "better": "lower",
            "baseline": f"pull with an empty cache ({cold_s:.2f} s)",
        },
    ]


@contextmanager
def moto_server() -> Iterator[str]:
    """A moto S3 server in its own process (not sharing the measured process's GIL)."""
    from airflow_mlops.local.services import free_port

    port = free_port()
    argv = [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)]
    server = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                urllib.request.urlopen(f"{url}/moto-api/", timeout=1)
                break
            except OSError:
                time.sleep(0.1)
        yield url
    finally:
        server.terminate()
        server.wait()


def s3_figure(repo: Path, root: Path, nbytes: int, repeat: int, jobs: int) -> dict:
    """(4): a pull through DVC from an S3 bucket against a parallel boto3 download of it."""
    import boto3

    with moto_server() as endpoint:
        os.environ.update(AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing")
        s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")
        s3.create_bucket(Bucket=BUCKET)
        # the objects get there as they do in production: `dvc push` to the bucket
        url = f"s3://{BUCKET}/store"
        run_tool(dvc_argv("remote", "add", "s3", url), repo)
        run_tool(dvc_argv("remote", "modify", "--local", "s3", "endpointurl", endpoint), repo)
        run_tool(dvc_argv("push", "-q", "-r", "s3"), repo)
        pages = s3.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix="store/")
        keys = [item["Key"] for page in pages for item in page.get("Contents", [])]
        spec = RemoteSpec(url=url, config={"endpointurl": endpoint, "region": "us-east-1"})
        print(f"S3: {len(keys)} objects in s3://{BUCKET}/store on {endpoint}, {jobs} jobs")
        boto_times, dvc_times = [], []

        def download(run: Path) -> None:
            def one(key: str) -> None:
                target = run / "boto3" / key
                target.parent.mkdir(parents=True, exist_ok=True)
                s3.download_file(BUCKET, key, str(target))

            with ThreadPoolExecutor(jobs) as pool:
                list(pool.map(one, keys))

        def dvc_pull(run: Path) -> None:
            pull(
                str(repo),
                ["data/shards"],
                rev="v1",
                workspace=run / "ws",
                cache_dir=run / "cache",
                remote=spec,
                jobs=jobs,
            )

        for attempt in range(repeat):
            run = root / f"s3-run-{attempt}"
            run.mkdir()
            steps = [(boto_times, download), (dvc_times, dvc_pull)]
            for times, step in steps if attempt % 2 == 0 else steps[::-1]:
                times.append(timed(lambda step=step, run=run: step(run)))
            print(
                f"S3 run {attempt + 1}: boto3 {boto_times[-1]:.2f} s, pull through DVC "
                f"{dvc_times[-1]:.2f} s, load {os.getloadavg()[0]:.1f}",
                flush=True,
            )
            shutil.rmtree(run)
    boto_s, dvc_s = statistics.median(boto_times), statistics.median(dvc_times)
    return {
        "bench": "dvc_pull",
        "metric": "s3_pull_vs_boto3_ratio",
        "value": round(dvc_s / boto_s, 3),
        "target": 1.5,
        "better": "lower",
        "baseline": f"boto3 download of the same {nbytes / 1e6:.0f} MB, {len(keys)} objects, "
        f"{jobs} threads, moto server ({boto_s:.2f} s; DVC {dvc_s:.2f} s)",
    }


if __name__ == "__main__":
    main()
