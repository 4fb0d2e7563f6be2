"""When a promotion lock's holder counts as gone (its lock may be broken)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time

import pytest

from airflow_mlops.model_registry.promote import _holder_is_gone


def exited_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


@pytest.mark.parametrize(
    ("owner", "age_s", "gone"),
    [
        (lambda: f"{socket.gethostname()}:{exited_pid()}:x", 0, True),
        (lambda: f"{socket.gethostname()}:{os.getpid()}:x", 0, False),
        (lambda: f"{socket.gethostname()}:{os.getppid()}:x", 0, False),
        (lambda: "other-host:1:x", 0, False),
        (lambda: "other-host:1:x", 301, True),
        (lambda: "garbage", 0, False),
    ],
    ids=[
        "dead-here",
        "this-process",
        "alive-here",
        "other-host-fresh",
        "other-host-stale",
        "no-pid",
    ],
)
def test_holder_is_gone(owner, age_s: float, gone: bool) -> None:
    held = {"owner": owner(), "since": time.time() - age_s}
    assert _holder_is_gone(held, stale_after_s=300) is gone


def test_a_damaged_lock_counts_as_stale() -> None:
    assert _holder_is_gone({"owner": "other-host:1:x", "since": "yesterday"}, 300)
    assert _holder_is_gone({}, 300)
