"""Storage faults: a writer SIGKILLed mid-write, and the artifact root running out of space.

A killed writer must leave the previous artifact (or none), never a partial one: the file and
directory writers of :mod:`airflow_mlops.artifacts` are killed in a child process at chosen
points. A full disk is a small tmpfs mounted as the artifact root (root only; skipped
otherwise) that fills up just before a task of a whole CT run writes there.
"""

from __future__ import annotations

import errno
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.reliability.faults import fail_first_try, failed_at, leftovers, tree

#: a writer that stops for good (until killed) at a point the parent chooses
_WRITER = """
import os, shutil, sys, time
from pathlib import Path
from airflow_mlops import artifacts

kind, target, ready, stop_at = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3]), int(sys.argv[4])
calls = []

def stop_here(what):
    calls.append(what)
    if len(calls) == stop_at:
        ready.write_text(what)
        time.sleep(600)

if kind == "file":
    real_fdopen = os.fdopen

    class HalfThenStop:
        def __init__(self, handle):
            self.handle = handle
        def __enter__(self):
            return self
        def __exit__(self, *exc):
            return self.handle.__exit__(*exc)
        def write(self, data):
            self.handle.write(data[: len(data) // 2])
            self.handle.flush()
            stop_here("half of the new file written")
            self.handle.write(data[len(data) // 2 :])
        def flush(self):
            self.handle.flush()
        def fileno(self):
            return self.handle.fileno()

    os.fdopen = lambda fd, mode: HalfThenStop(real_fdopen(fd, mode))
    artifacts.atomic_write_bytes(target, b"new" * 100_000)
else:
    for name in ("replace", "rename"):
        real = getattr(os, name)
        def step(src, dst, real=real, name=name):
            real(src, dst)
            stop_here(f"os.{name}({Path(src).name} -> {Path(dst).name})")
        setattr(os, name, step)
    real_rmtree = shutil.rmtree
    def rmtree(path, *args, **kwargs):
        stop_here(f"shutil.rmtree({Path(path).name})")
        real_rmtree(path, *args, **kwargs)
    shutil.rmtree = rmtree
    with artifacts.atomic_directory(target) as staging:
        (staging / "model.onnx").write_bytes(b"new" * 1000)
        stop_here("half of the new directory written")
        (staging / "report.json").write_text("{}")
"""


def kill_writer(kind: str, target: Path, stop_at: int) -> str | None:
    """Run the ``kind`` writer on ``target``; SIGKILL it at its ``stop_at``-th step. Returns
    where it was killed, or None when it finished with fewer steps."""
    ready = target.parent / f"ready-{stop_at}"
    child = subprocess.Popen(
        [sys.executable, "-c", _WRITER, kind, str(target), str(ready), str(stop_at)]
    )
    deadline = time.monotonic() + 120
    while not ready.exists() and child.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    if child.poll() is not None:
        assert child.returncode == 0
        return None
    where = ready.read_text()
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    ready.unlink()
    return where


def test_file_writer_killed_mid_write_leaves_the_old_file(tmp_path: Path) -> None:
    from airflow_mlops.artifacts import atomic_write_bytes

    target = tmp_path / "model.pt"
    atomic_write_bytes(target, b"old")

    assert kill_writer("file", target, stop_at=1) == "half of the new file written"

    assert target.read_bytes() == b"old"
    (temp,) = leftovers(tmp_path)  # the half-written bytes never had the artifact's name
    assert (tmp_path / temp).stat().st_size == len(b"new" * 100_000) // 2
    atomic_write_bytes(target, b"retried")  # the retry sweeps what the killed writer left
    assert target.read_bytes() == b"retried"
    assert leftovers(tmp_path) == []


def test_directory_writer_killed_at_any_step_leaves_the_old_or_the_new_directory(
    tmp_path: Path,
) -> None:
    from airflow_mlops.artifacts import atomic_directory

    stops = []
    for stop_at in range(1, 10):
        target = tmp_path / f"run-{stop_at}" / "export"
        with atomic_directory(target) as staging:
            (staging / "model.onnx").write_bytes(b"old")
        where = kill_writer("directory", target, stop_at)
        if where is None:
            break
        stops.append(where)
        content = {p.name: p.read_bytes() for p in target.iterdir()} if target.exists() else None
        assert content in (
            {"model.onnx": b"old"},
            {"model.onnx": b"new" * 1000, "report.json": b"{}"},
        ), (
            where,
            content,
        )
    assert stops[0] == "half of the new directory written"
    for stop_at in range(1, len(stops) + 1):  # a retry sweeps what each killed writer left
        with atomic_directory(tmp_path / f"run-{stop_at}" / "export") as staging:
            (staging / "model.onnx").write_bytes(b"retried")
    assert leftovers(tmp_path) == []
    assert len(stops) >= 2  # killed while publishing, too


# --- disk full in the artifact root -------------------------------------------------------


@pytest.fixture
def small_artifact_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A 16 MiB tmpfs mounted as the artifact root (``AIRFLOW_MLOPS_ARTIFACT_ROOT``)."""
    from airflow_mlops.settings import ARTIFACT_ROOT_ENV

    root = tmp_path / "artifacts"
    root.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", str(root)],
        capture_output=True,
        text=True,
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here (needs root): {mounted.stderr.strip()}")
    monkeypatch.setenv(ARTIFACT_ROOT_ENV, str(root))
    try:
        yield root
    finally:
        subprocess.run(["umount", "-l", str(root)], check=False)


def fill(root: Path) -> None:
    """Fill the filesystem of ``root`` to the last byte (unbuffered: nothing left to flush)."""
    fd = os.open(root / "filler", os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        for chunk in (b"\0" * (1 << 16), b"\0" * (1 << 12), b"\0"):
            while True:
                try:
                    os.write(fd, chunk)
                except OSError as error:
                    if error.errno != errno.ENOSPC:
                        raise
                    break
    finally:
        os.close(fd)
    assert os.statvfs(root).f_bavail == 0


#: the task that finds the disk full -> where under the artifact root it writes, its error
DISK_FULL = {
    "validate_data": ("validation/", "MlopsTaskError: No space left to write"),
    "train": (
        "training/",
        "TrainingTaskError: Training failed in the subprocess (exit code 1) with StorageError: "
        "No space left to write",
    ),
    "export_onnx": ("onnx/", "OnnxExportError: No space left to write"),
}


@pytest.mark.e2e
@pytest.mark.slow
@pytest.mark.parametrize("task", DISK_FULL)
def test_disk_full_fails_the_writer_cleanly(
    task: str, ct, small_artifact_root: Path, capfd
) -> None:
    dag = ct.dag()
    filled = []

    def fill_first(patch: pytest.MonkeyPatch, context) -> None:
        fill(small_artifact_root)
        filled.append(task)

    fail_first_try(ct.monkeypatch, dag.get_task(task), fill_first)

    run = ct.run(dag)

    assert filled == [task]  # the disk filled up as the task started, then the task failed
    failed_at(run, task)
    where, message = DISK_FULL[task]
    log = capfd.readouterr().out
    assert message in log
    assert "What to do: Free space on that disk, or move the artifacts to a bigger one" in log
    written = tree(small_artifact_root)
    assert leftovers(small_artifact_root) == []
    assert not [path for path in written if path.startswith(where)], written  # nothing half
    assert ct.registry().versions == {}
