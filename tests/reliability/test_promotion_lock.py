"""The promotion lock when the tracking server's answer is lost.

MLflow's client retries every method on a read error, so a ``create`` that the server carried
out but whose answer never arrived comes back as ``RESOURCE_ALREADY_EXISTS``: the lock is then
held by the very caller that waits for it. A proxy in front of a real MLflow server drops the
answer to the first lock creation; the promotion must still go through at once.
"""

from __future__ import annotations

import http.client
import http.server
import threading
import time
import uuid
from collections.abc import Iterator

import pytest

from airflow_mlops.registry.client import CHAMPION, PREVIOUS, alias_version, mlflow_client
from airflow_mlops.registry.promote import LOCK_SUFFIX, lock_name, promote

pytestmark = [pytest.mark.integration]

_HOP_BY_HOP = {"connection", "content-length", "transfer-encoding", "keep-alive", "host"}


class _LoseFirstLockAnswer(http.server.BaseHTTPRequestHandler):
    """Forwards to ``server.upstream``; the first lock creation is carried out upstream but
    its connection is closed before the answer."""

    protocol_version = "HTTP/1.1"

    def _forward(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        upstream = http.client.HTTPConnection(*self.server.upstream, timeout=60)
        headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP_BY_HOP}
        upstream.request(self.command, self.path, body, headers)
        answer = upstream.getresponse()
        payload = answer.read()
        upstream.close()
        lock_create = self.path.endswith("/registered-models/create") and LOCK_SUFFIX in str(body)
        if lock_create and not self.server.lost:
            self.server.lost.append(self.path)
            self.close_connection = True
            return
        self.send_response(answer.status)
        for key, value in answer.getheaders():
            if key.lower() not in _HOP_BY_HOP:
                self.send_header(key, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    do_GET = do_POST = do_PATCH = do_DELETE = _forward

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def lossy_mlflow(mlflow_server: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple]:
    """A proxy URL in front of ``mlflow_server`` and the list of answers it lost."""
    host, port = mlflow_server.removeprefix("http://").split(":")
    proxy = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _LoseFirstLockAnswer)
    proxy.upstream, proxy.lost = (host, int(port)), []
    thread = threading.Thread(target=proxy.serve_forever, daemon=True)
    thread.start()
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "2")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR", "0")
    yield f"http://127.0.0.1:{proxy.server_address[1]}", proxy.lost
    proxy.shutdown()


def _model_with_versions(tracking_uri: str, count: int) -> str:
    """A registered model with ``count`` versions (no artifacts: promotion reads none)."""
    client = mlflow_client(tracking_uri)
    name = f"lock-{uuid.uuid4().hex[:8]}"
    client.create_registered_model(name)
    run_id = client.create_run(client.create_experiment(name)).info.run_id
    for _ in range(count):
        client.create_model_version(name, f"runs:/{run_id}/model", run_id=run_id)
    return name


def test_a_lost_answer_to_the_lock_creation_does_not_block_the_promotion(
    mlflow_server: str, lossy_mlflow: tuple
) -> None:
    url, lost = lossy_mlflow
    name = _model_with_versions(mlflow_server, 2)
    promote(mlflow_server, name, "1", expected_champion=None)
    started = time.monotonic()
    move = promote(url, name, "2", expected_champion="1", lock_timeout_s=10)
    assert lost, "the proxy lost no answer: the fault was not injected"
    assert time.monotonic() - started < 10
    assert (move.champion, move.previous) == ("2", "1")
    assert alias_version(mlflow_server, name, CHAMPION) == "2"
    assert alias_version(mlflow_server, name, PREVIOUS) == "1"
    names = {m.name for m in mlflow_client(mlflow_server).search_registered_models()}
    assert lock_name(name) not in names  # released
