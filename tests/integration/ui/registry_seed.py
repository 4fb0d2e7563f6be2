"""Registers a small model history in a real MLflow server, the way CT and monitoring would."""

from __future__ import annotations

import functools
import json
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from airflow_mlops.lineage import (
    CHALLENGER,
    CHAMPION,
    DATA_DOCS_TAG,
    GATE_DECISION_TAG,
    GATE_REASONS_TAG,
    MODEL_TAG,
    REPORT_TAG,
    Lineage,
)

MODEL = "cancer-mlp"
HOSTILE = '<img src=x onerror="window.__mlops_xss=1">'


@dataclass(frozen=True)
class SeededRegistry:
    """What was registered: the model name and the ids the tests look for."""

    tracking_uri: str
    model: str
    run_ids: dict[str, str]
    monitoring_run_ids: list[str]


def lineage_tags(version: int, trigger: str, decision: str, reasons: list[str]) -> dict[str, str]:
    """Lineage tags of one version, per the registry contract (all strings)."""
    lineage = Lineage(
        dataset="cancer",
        data_rev=f"v{version}",
        data_commit=f"{version:040x}",
        data_md5=f"{version:032x}",
        git_sha=f"{version + 100:040x}",
        image_digest=f"sha256:{version + 200:064x}",
        validation_outcome="success",
        dag_id="mlops_level1_ct",
        run_id=f"manual__2026-01-0{version}T00:00:00+00:00",
        trigger=trigger,
        fingerprint=f"{version + 300:064x}",
        params={"epochs": 5 + version, "lr": 0.001},
        parity_max_abs=1e-06,
        latency_p50_ms_b1=0.08,
    )
    return {
        **lineage.tags(),
        GATE_DECISION_TAG: decision,
        GATE_REASONS_TAG: json.dumps(reasons),
        DATA_DOCS_TAG: f"http://docs.example/cancer/v{version}/index.html",
    }


def seed(tracking_uri: str, model: str = MODEL) -> SeededRegistry:
    """Three versions (v2 champion, v3 challenger rejected by the gate) and three drift runs.

    Seeded once per server and model: the API and browser tests share the session's server.
    """
    return _seed(tracking_uri, model)


@functools.cache
def _seed(tracking_uri: str, model: str) -> SeededRegistry:
    from mlflow import MlflowClient

    client = MlflowClient(tracking_uri, tracking_uri)
    experiment = client.create_experiment(f"train/{model}")
    client.create_registered_model(model, description=f"Test model {HOSTILE}")
    history = [
        (0.91, "manual", "promote", ["first version"]),
        (0.95, "schedule", "promote", ["val_accuracy 0.950 > champion 0.910"]),
        (0.93, "drift", "reject", ["val_accuracy 0.930 < champion 0.950", HOSTILE]),
    ]
    run_ids: dict[str, str] = {}
    with tempfile.TemporaryDirectory() as tmp:
        artifact = Path(tmp) / "model.txt"
        artifact.write_text("tiny model\n")
        for number, (accuracy, trigger, decision, reasons) in enumerate(history, start=1):
            run = client.create_run(experiment, tags={MODEL_TAG: model})
            run_id = run.info.run_id
            client.log_metric(run_id, "val_accuracy", accuracy)
            client.log_metric(run_id, "val_loss", 1 - accuracy)
            client.log_artifact(run_id, str(artifact), "model")
            client.set_terminated(run_id)
            client.create_model_version(
                model,
                f"runs:/{run_id}/model",
                run_id=run_id,
                tags=lineage_tags(number, trigger, decision, reasons),
            )
            run_ids[str(number)] = run_id
            time.sleep(0.01)
    client.set_registered_model_alias(model, CHAMPION, "2")
    client.set_registered_model_alias(model, CHALLENGER, "3")
    monitoring = client.create_experiment(f"monitoring/{model}")
    monitoring_run_ids = []
    for share in (0.05, 0.1, 0.6):
        run = client.create_run(
            monitoring,
            tags={MODEL_TAG: model, REPORT_TAG: "http://reports.example/drift.html"},
        )
        client.log_metric(run.info.run_id, "drift_share", share)
        client.set_terminated(run.info.run_id)
        monitoring_run_ids.append(run.info.run_id)
    other = client.create_run(monitoring, tags={MODEL_TAG: "another-model"})
    client.log_metric(other.info.run_id, "drift_share", 0.99)
    return SeededRegistry(tracking_uri, model, run_ids, monitoring_run_ids)
