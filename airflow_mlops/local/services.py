"""Start, watch and stop the local services (MLflow server, Airflow standalone) as processes.

Shared by the ``airflow-mlops up/down/demo`` commands and the test fixtures, so both start the
services the same way. A service that fails gets a :class:`ServiceError` quoting its log tail.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from airflow_mlops.errors import ServiceError


@dataclass(frozen=True)
class ServiceSpec:
    """How to run one service: its command line, its port and the URL that says it is up.

    ``port`` 0: it listens on none. ``health_url`` is ``http(s)://...`` or ``tcp://host:port``.
    """

    name: str
    argv: list[str]
    port: int
    health_url: str
    env: dict[str, str] = field(default_factory=dict)
    startup_timeout_s: float = 120.0


@dataclass(frozen=True)
class RunningService:
    """A started service: its process id, its base URL and where its log is."""

    name: str
    pid: int
    url: str
    log_path: Path


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def port_in_use(port: int, host: str = "127.0.0.1") -> bool:
    """Whether something accepts connections on ``host:port``."""
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


def log_tail(path: Path, lines: int = 30) -> str:
    """The last ``lines`` lines of a log file, or a note that it is empty."""
    try:
        text = path.read_text(errors="replace")
    except FileNotFoundError:
        return f"(no log at {path})"
    return "\n".join(text.splitlines()[-lines:]) or "(log is empty)"


def _healthy(url: str) -> bool:
    """Whether ``url`` answers: an HTTP status below 500, or a listener at ``tcp://host:port``."""
    if url.startswith("tcp://"):
        host, _, port = url.removeprefix("tcp://").partition(":")
        return port_in_use(int(port), host)
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return 200 <= response.status < 500
    except urllib.error.HTTPError as error:
        return error.code < 500
    except (urllib.error.URLError, OSError):
        return False


def start_service(spec: ServiceSpec, run_dir: Path, log_dir: Path) -> RunningService:
    """Start ``spec`` in its own session, wait until its health URL answers, record its pid.

    :raises ServiceError: the port is taken, or the process exited or never became healthy.
    """
    if spec.port and port_in_use(spec.port):
        raise ServiceError(
            f"Cannot start {spec.name}: port {spec.port} on 127.0.0.1 is already in use.",
            hint=f"Stop what listens there (`ss -ltnp 'sport = :{spec.port}'`), "
            "run `airflow-mlops down`, or choose another port.",
        )
    run_dir.mkdir(parents=True, exist_ok=True)
    log_dir.mkdir(parents=True, exist_ok=True)
    log_path = log_dir / f"{spec.name}.log"
    with log_path.open("ab") as log:
        process = subprocess.Popen(
            spec.argv,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env={**os.environ, **spec.env},
            start_new_session=True,
        )
    (run_dir / f"{spec.name}.pid").write_text(str(process.pid))
    deadline = time.monotonic() + spec.startup_timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            _forget(run_dir, spec.name)
            raise ServiceError(
                f"{spec.name} exited with code {process.returncode} while starting. "
                f"Last lines of {log_path}:\n{log_tail(log_path)}",
                hint="Read the log above; fix the cause and start it again.",
            )
        if _healthy(spec.health_url):
            return RunningService(spec.name, process.pid, spec.health_url, log_path)
        time.sleep(0.5)
    _terminate(process.pid)
    _forget(run_dir, spec.name)
    raise ServiceError(
        f"{spec.name} did not answer on {spec.health_url} within {spec.startup_timeout_s:.0f} s. "
        f"Last lines of {log_path}:\n{log_tail(log_path)}",
        hint="Read the log above; the machine may be overloaded or the service misconfigured.",
    )


def stop_service(name: str, run_dir: Path, timeout_s: float = 15.0) -> bool:
    """Stop the service recorded in ``run_dir``; returns whether one was running."""
    pid_file = run_dir / f"{name}.pid"
    if not pid_file.exists():
        return False
    pid = int(pid_file.read_text().strip())
    running = _terminate(pid, timeout_s)
    _forget(run_dir, name)
    return running


def session_processes(session: int) -> dict[int, tuple[int, str]]:
    """The live processes of ``session`` (a service and everything it started): pid ->
    (process group, command line). Empty where there is no ``/proc``."""
    found = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            cmdline = (stat.parent / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except (OSError, IndexError, UnicodeDecodeError):
            continue  # exited meanwhile
        if int(fields[3]) == session and fields[0] != "Z":
            found[int(stat.parent.name)] = (int(fields[2]), cmdline.strip())
    return found


def _terminate(pid: int, timeout_s: float = 15.0) -> bool:
    """SIGTERM the process group of ``pid``, then SIGKILL what is left after ``timeout_s``,
    and every process left in its session: children that made their own process group (an
    Airflow task runner, its subprocesses) would otherwise outlive the service."""
    try:
        os.killpg(pid, signal.SIGTERM)
    except ProcessLookupError:
        running = False
    else:
        running = True
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            try:
                os.killpg(pid, 0)
            except ProcessLookupError:
                break
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, os.WNOHANG)
            time.sleep(0.2)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGKILL)
    for member in session_processes(pid):
        with contextlib.suppress(ProcessLookupError):
            os.kill(member, signal.SIGKILL)
    return running


def _forget(run_dir: Path, name: str) -> None:
    (run_dir / f"{name}.pid").unlink(missing_ok=True)


def mlflow_server_spec(store_dir: Path, port: int) -> ServiceSpec:
    """An MLflow tracking server with a SQLite backend and a local artifact store."""
    store_dir.mkdir(parents=True, exist_ok=True)
    return ServiceSpec(
        name="mlflow",
        argv=[
            sys.executable,
            "-m",
            "mlflow",
            "server",
            "--backend-store-uri",
            f"sqlite:///{store_dir / 'mlflow.db'}",
            "--artifacts-destination",
            str(store_dir / "artifacts"),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            "1",
        ],
        port=port,
        health_url=f"http://127.0.0.1:{port}/health",
    )


def airflow_standalone_spec(
    airflow_home: Path, dags_folder: Path, port: int, env: dict[str, str] | None = None
) -> ServiceSpec:
    """``airflow standalone`` (scheduler, triggerer, dag processor, api-server) on ``port``.

    Standalone starts its components as ``airflow ...`` through PATH, so this interpreter's bin
    directory goes first (the venv need not be activated).
    """
    bin_dir = str(Path(sys.executable).parent)
    return ServiceSpec(
        name="airflow",
        argv=[str(Path(sys.executable).with_name("airflow")), "standalone"],
        port=port,
        health_url=f"http://127.0.0.1:{port}/api/v2/monitor/health",
        env={
            "AIRFLOW_HOME": str(airflow_home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(dags_folder),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__API__PORT": str(port),
            "AIRFLOW__API__HOST": "127.0.0.1",
            "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}",
            **(env or {}),
        },
        startup_timeout_s=360.0,
    )
