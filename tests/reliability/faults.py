"""Fault injectors shared by the fault tests: an HTTP proxy in front of MLflow whose requests a
test can refuse or cut, a task that fails once mid-way, and a scan for leftovers of atomic writes.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from tests.reliability.conftest import CTRun

#: the tasks of the level-1 CT DAG, in order
TASKS = (
    "prepare_run",
    "pull_data",
    "check_fingerprint",
    "pull_reference",
    "validate_data",
    "train",
    "export_onnx",
    "register_model",
    "evaluate_and_promote",
)
#: names that only a write cut short leaves behind (atomic_write_*, atomic_directory, DVC)
TEMP_MARKERS = (".tmp", ".dvc-pull-")


def leftovers(root: Path) -> list[str]:
    """Temporary files and directories under ``root`` that a finished write would have removed."""
    if not root.exists():
        return []
    return sorted(
        str(path.relative_to(root))
        for path in root.rglob(".*")
        if any(marker in path.name for marker in TEMP_MARKERS)
    )


def failed_at(run: CTRun, task: str) -> None:
    """The run failed at ``task``: everything before it succeeded, nothing after it ran."""
    index = TASKS.index(task)
    assert run.state == "failed", run
    assert [run.task_states[t] for t in TASKS[:index]] == ["success"] * index, run
    assert run.task_states[task] == "failed", run
    assert {run.task_states[t] for t in TASKS[index + 1 :]} <= {"upstream_failed", None}, run


def tree(root: Path) -> list[str]:
    """Every file under ``root``, relative to it (empty when ``root`` does not exist)."""
    if not root.exists():
        return []
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if not p.is_dir())


@dataclass
class Rule:
    """Cut the ``nth`` request whose method is ``method`` and whose path contains ``path``:
    ``"request"`` drops it before MLflow sees it, ``"response"`` after MLflow answered it (the
    client never learns that the call succeeded)."""

    method: str
    path: str
    cut: str
    nth: int = 1
    seen: int = 0

    def fires(self, method: str, path: str) -> bool:
        if method != self.method or self.path not in path:
            return False
        self.seen += 1
        return self.seen == self.nth


@dataclass
class MlflowProxy:
    """A loopback HTTP proxy to the MLflow server at ``upstream``. ``down()`` refuses every
    connection, as a dead server does; ``up()`` serves again on the same port; ``rules`` cut
    single requests. Every request is recorded in ``calls`` as ``(method, path, outcome)``."""

    upstream: str
    port: int = 0
    rules: list[Rule] = field(default_factory=list)
    calls: list[tuple[str, str, str]] = field(default_factory=list)
    _server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def up(self) -> None:
        """Listen (again) on ``port``; a free one the first time."""
        if self._server is not None:
            return
        from airflow_mlops.local.services import free_port

        self.port = self.port or free_port()
        ThreadingHTTPServer.allow_reuse_address = True
        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), _handler(self))
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def down(self) -> None:
        """Stop listening: new connections are refused (one request per connection, so no
        kept-alive connection outlives this)."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def paths(self, outcome: str | None = None) -> list[str]:
        return [f"{m} {p}" for m, p, o in self.calls if outcome in (None, o)]


def _handler(proxy: MlflowProxy) -> type[BaseHTTPRequestHandler]:
    host, port = proxy.upstream.removeprefix("http://").rsplit(":", 1)

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.0"  # the connection closes after each answer

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _body(self) -> bytes:
            if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                chunks = []
                while size := int(self.rfile.readline().split(b";")[0], 16):
                    chunks.append(self.rfile.read(size))
                    self.rfile.readline()
                self.rfile.readline()
                return b"".join(chunks)
            return self.rfile.read(int(self.headers.get("Content-Length") or 0))

        def _forward(self) -> None:
            body = self._body()
            rule = next((r for r in proxy.rules if r.fires(self.command, self.path)), None)
            if rule is not None and rule.cut == "request":
                proxy.calls.append((self.command, self.path, "cut-request"))
                return  # closed without an answer: MLflow never saw the call
            skip = {"host", "content-length", "transfer-encoding", "connection"}
            headers = {k: v for k, v in self.headers.items() if k.lower() not in skip}
            upstream = http.client.HTTPConnection(host, int(port), timeout=120)
            try:
                upstream.request(self.command, self.path, body=body, headers=headers)
                answer = upstream.getresponse()
                payload = answer.read()
            finally:
                upstream.close()
            if rule is not None:
                proxy.calls.append((self.command, self.path, "cut-response"))
                return  # MLflow did it; the client hears nothing back
            proxy.calls.append((self.command, self.path, str(answer.status)))
            self.send_response(answer.status)
            for key, value in answer.getheaders():
                if key.lower() not in skip:
                    self.send_header(key, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _forward

    return Handler


@contextlib.contextmanager
def mlflow_proxy(upstream: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[MlflowProxy]:
    """A running proxy to ``upstream`` that the DAGs' ``mlflow_default`` connection points at."""
    import json

    proxy = MlflowProxy(upstream)
    proxy.up()
    monkeypatch.setenv("MLFLOW_TRACKING_URI", proxy.url)
    monkeypatch.setenv(
        "AIRFLOW_CONN_MLFLOW_DEFAULT", json.dumps({"conn_type": "mlflow", "host": proxy.url})
    )
    try:
        yield proxy
    finally:
        proxy.down()


def fail_first_try(
    monkeypatch: pytest.MonkeyPatch,
    task: Any,
    arm: Callable[[pytest.MonkeyPatch, Any], None],
    failures: dict[str, str] | None = None,
) -> None:
    """Make ``task`` fail once, mid-way: during its first try ``arm(patch, context)`` patches
    what the task calls (a patch undone when the try ends); later tries run unchanged. The
    error that ended the first try goes into ``failures`` under the task id.

    The operator class is patched (the runner executes a rendered copy of ``task``); other
    tasks of the class are left alone.
    """
    cls = type(task)
    original = cls.execute

    def execute(self: Any, context: Any) -> Any:
        mine = (self.dag_id, self.task_id) == (task.dag_id, task.task_id)
        if not mine or context["ti"].try_number > 1:
            return original(self, context)
        with pytest.MonkeyPatch.context() as patch:
            arm(patch, context)
            try:
                return original(self, context)
            except Exception as error:
                if failures is not None:
                    failures[self.task_id] = f"{type(error).__name__}: {error}"
                raise

    monkeypatch.setattr(cls, "execute", execute)


#: a ``sitecustomize`` that breaks the first run of the training entrypoint in a subprocess
_SITECUSTOMIZE = '''\
"""Written by the reliability suite: break the first run of the training entrypoint."""
import os
import sys

MODE = os.environ.get("RELIABILITY_TRAINING_FAULT", "")
ONCE = os.environ.get("RELIABILITY_TRAINING_FAULT_ONCE", "")
if MODE and "airflow_mlops.training" in sys.orig_argv and not os.path.exists(ONCE):
    open(ONCE, "w").close()
    if MODE == "hang":
        import time

        time.sleep(3600)
    elif MODE == "crash":
        import builtins

        def _print(*args, _print=builtins.print, **kwargs):
            _print(*args, **kwargs)
            if args and str(args[0]).startswith("epoch   2/"):
                raise RuntimeError("injected crash in epoch 2")

        builtins.print = _print
    elif MODE == "kill-mid-write":
        import signal

        def _fsync(fd):  # the first artifact write: half of it on disk, then SIGKILL
            os.ftruncate(fd, os.fstat(fd).st_size // 2)
            os.kill(os.getpid(), signal.SIGKILL)

        os.fsync = _fsync
'''


def break_training_subprocess(monkeypatch: pytest.MonkeyPatch, root: Path, mode: str) -> Path:
    """Make the first training subprocess (``backend="local"``) that starts from now on
    ``crash`` in epoch 2, ``hang`` at start, or ``kill-mid-write`` its first artifact (half of
    it written, then SIGKILL); later runs are left alone. Returns the file whose existence
    says the fault fired."""
    site = root / "site"
    site.mkdir(parents=True)
    (site / "sitecustomize.py").write_text(_SITECUSTOMIZE)
    fired = root / "fired"
    monkeypatch.setenv(
        "PYTHONPATH", os.pathsep.join(filter(None, [str(site), os.environ.get("PYTHONPATH")]))
    )
    monkeypatch.setenv("RELIABILITY_TRAINING_FAULT", mode)
    monkeypatch.setenv("RELIABILITY_TRAINING_FAULT_ONCE", str(fired))
    return fired
