"""Atomic writes leave the old artifact or the new one, never a half-written file."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from airflow_mlops.artifacts import (
    atomic_directory,
    atomic_write_json,
    atomic_write_text,
    sweep_dead_writers,
    task_artifact_dir,
)
from airflow_mlops.owners import owner_tag


def test_atomic_write_replaces_content_and_leaves_no_temp_file(tmp_path: Path) -> None:
    target = tmp_path / "deep" / "metrics.json"
    atomic_write_json(target, {"b": 1, "a": 2})
    atomic_write_json(target, {"a": 3})
    assert json.loads(target.read_text()) == {"a": 3}
    assert [p.name for p in target.parent.iterdir()] == ["metrics.json"]


def test_failed_write_keeps_the_previous_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "model.txt"
    atomic_write_text(target, "old")

    def disk_full(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("os.fsync", disk_full)
    with pytest.raises(OSError, match="No space left"):
        atomic_write_text(target, "new")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["model.txt"]


def test_atomic_directory_publishes_only_on_success(tmp_path: Path) -> None:
    target = tmp_path / "checkpoint"
    with atomic_directory(target) as staging:
        (staging / "model.pt").write_text("v1")
    assert (target / "model.pt").read_text() == "v1"

    with pytest.raises(RuntimeError), atomic_directory(target) as staging:
        (staging / "model.pt").write_text("half")
        raise RuntimeError("killed mid-write")
    assert (target / "model.pt").read_text() == "v1"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["checkpoint"]

    with atomic_directory(target) as staging:
        (staging / "model.pt").write_text("v2")
    assert (target / "model.pt").read_text() == "v2"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["checkpoint"]


def dead_pid() -> int:
    """The pid of a process that has exited (and been reaped)."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


@pytest.mark.parametrize("write", ["file", "directory"])
def test_a_write_sweeps_what_killed_writers_of_this_host_left(tmp_path: Path, write: str) -> None:
    host = owner_tag().split("-")[0]
    left = {
        "dead_file": f".model.{host}-{dead_pid()}-abc123.tmp",
        "dead_dir": f".model.{host}-{dead_pid()}-old.tmp",
        "live_writer": f".model.{host}-{os.getppid()}-def456.tmp",
        "other_host": f".model.0badc0de-{dead_pid()}-ghi789.tmp",
        "other_artifact": f".report.{host}-{dead_pid()}-jkl012.tmp",
    }
    for kind, name in left.items():
        if kind == "dead_dir":
            (tmp_path / name).mkdir()
            (tmp_path / name / "model.onnx").write_bytes(b"half")
        else:
            (tmp_path / name).write_bytes(b"half")

    if write == "file":
        atomic_write_text(tmp_path / "model", "new")
    else:
        with atomic_directory(tmp_path / "model") as staging:
            (staging / "model.onnx").write_bytes(b"new")

    kept = {kind for kind, name in left.items() if (tmp_path / name).exists()}
    assert kept == {"live_writer", "other_host", "other_artifact"}
    assert sweep_dead_writers(tmp_path / "model") == []


def test_task_artifact_dir_names_each_task_instance_its_own_safe_folder(tmp_path: Path) -> None:
    run = "manual__2026-01-01T00:00:00+00:00"
    plain = task_artifact_dir(tmp_path, "training", "ct", run, "train")
    assert plain == tmp_path / "training" / "ct" / "manual__2026-01-01T00_00_00_00_00" / "train"
    assert task_artifact_dir(tmp_path, "training", "ct", run, "train", -1) == plain
    assert task_artifact_dir(tmp_path, "training", "ct", run, "train", None) == plain
    mapped = [task_artifact_dir(tmp_path, "onnx", "ct", run, "export", i) for i in (0, 1)]
    assert mapped == [
        tmp_path / "onnx" / "ct" / plain.parts[-2] / "export" / str(i) for i in (0, 1)
    ]
    assert task_artifact_dir("s", "a b", "d/e", "r", "t").parts == ("s", "a_b", "d_e", "r", "t")


@pytest.mark.parametrize("task_id", ["", "..", "."])
def test_task_artifact_dir_refuses_parts_that_leave_the_folder(
    tmp_path: Path, task_id: str
) -> None:
    with pytest.raises(ValueError, match="empty"):
        task_artifact_dir(tmp_path, "training", "ct", "run", task_id)
