"""The promotion lock when the tracking server's answer is lost.

MLflow's client retries every method on a read error, so a ``create`` that the server carried
out but whose answer never arrived comes back as ``RESOURCE_ALREADY_EXISTS``: the lock is then
held by the very caller that waits for it. A proxy in front of a real MLflow server drops the
answer to the first lock creation; the promotion must still go through at once.
"""

from __future__ import annotations

import time
import uuid

import pytest

from airflow_mlops.lineage import CHAMPION, PREVIOUS
from airflow_mlops.model_registry.client import alias_version, mlflow_client
from airflow_mlops.model_registry.promote import lock_name, promote
from tests.reliability.faults import Rule, mlflow_proxy

pytestmark = [pytest.mark.integration]


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
    mlflow_server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    name = _model_with_versions(mlflow_server, 2)
    promote(mlflow_server, name, "1", expected_champion=None)
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "2")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR", "0")
    with mlflow_proxy(mlflow_server, monkeypatch) as proxy:
        # the only registered model promote() creates is the lock
        proxy.rules.append(Rule("POST", "/registered-models/create", "response"))
        started = time.monotonic()
        move = promote(proxy.url, name, "2", expected_champion="1", lock_timeout_s=10)
    assert proxy.paths("cut-response"), "no answer was lost: the fault was not injected"
    assert time.monotonic() - started < 10
    assert (move.champion, move.previous) == ("2", "1")
    assert alias_version(mlflow_server, name, CHAMPION) == "2"
    assert alias_version(mlflow_server, name, PREVIOUS) == "1"
    names = {m.name for m in mlflow_client(mlflow_server).search_registered_models()}
    assert lock_name(name) not in names  # released
