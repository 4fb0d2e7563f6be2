"""Registration points mlflow's global URIs at its server only for the block (no MLflow needed)."""

from __future__ import annotations

import os

import mlflow

from airflow_mlops.model_registry.register import mlflow_scope


def test_the_global_uris_and_their_environment_are_restored_exactly(monkeypatch) -> None:
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://127.0.0.1:1111")
    monkeypatch.delenv("MLFLOW_REGISTRY_URI", raising=False)

    with mlflow_scope("http://127.0.0.1:2222"):
        assert mlflow.get_tracking_uri() == "http://127.0.0.1:2222"
        assert mlflow.get_registry_uri() == "http://127.0.0.1:2222"

    assert "MLFLOW_REGISTRY_URI" not in os.environ
    assert mlflow.get_registry_uri() == "http://127.0.0.1:1111"
    # nothing pinned: a later server (another test, another task in the process) is followed
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://127.0.0.1:3333")
    assert mlflow.get_tracking_uri() == "http://127.0.0.1:3333"
    assert mlflow.get_registry_uri() == "http://127.0.0.1:3333"
    assert mlflow.MlflowClient("http://127.0.0.1:4444")._registry_uri == "http://127.0.0.1:4444"
