"""Services start in their own session; stopping one ends everything it started."""

from __future__ import annotations

import sys
import time
from pathlib import Path

from airflow_mlops.local.services import (
    ServiceSpec,
    free_port,
    session_processes,
    start_service,
    stop_service,
)

#: listens on a port (its health) and starts a child in a process group of its own, as
#: Airflow's task supervisor does with the task runner
_SERVICE = """
import os, socket, subprocess, sys, time
child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"],
                         process_group=0)
server = socket.socket()
server.bind(("127.0.0.1", int(sys.argv[1])))
server.listen()
time.sleep(600)
"""


def test_stopping_a_service_ends_children_in_other_process_groups(tmp_path: Path) -> None:
    port = free_port()
    spec = ServiceSpec(
        name="group-leaver",
        argv=[sys.executable, "-c", _SERVICE, str(port)],
        port=port,
        health_url=f"tcp://127.0.0.1:{port}",
        startup_timeout_s=30,
    )
    service = start_service(spec, tmp_path / "run", tmp_path / "logs")
    deadline = time.monotonic() + 10
    while len(session_processes(service.pid)) < 2 and time.monotonic() < deadline:
        time.sleep(0.1)
    groups = {group for group, _ in session_processes(service.pid).values()}
    assert len(groups) == 2  # the child left the service's process group

    assert stop_service(spec.name, tmp_path / "run", timeout_s=5)
    deadline = time.monotonic() + 5
    while session_processes(service.pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert session_processes(service.pid) == {}
