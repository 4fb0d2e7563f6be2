"""Champion/challenger gate and compare-and-set promotion against a real MLflow server."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import mlflow.artifacts
import pytest

from airflow_mlops.errors import RegistryError
from airflow_mlops.lineage import CHAMPION, LOCK_TAG, PREVIOUS
from airflow_mlops.model_registry.client import alias_version, mlflow_client, resolve_model_version
from airflow_mlops.model_registry.evaluation import evaluate_and_promote
from airflow_mlops.model_registry.gate import GateConfig
from airflow_mlops.model_registry.promote import (
    PromotionConflictError,
    champion_lock,
    lock_name,
    promote,
    rollback,
)
from airflow_mlops.model_registry.register import register_onnx_model

pytestmark = pytest.mark.integration


@pytest.fixture
def register(mlflow_server, onnx_models, model_name, lineage_for):
    """``register(kind)`` -> version number of a new registration of that model kind."""
    counter = iter(range(1, 100))

    def run(kind: str) -> str:
        lineage = lineage_for(f"manual__{kind}_{next(counter)}")
        return register_onnx_model(mlflow_server, model_name, onnx_models[kind], lineage).version

    return run


def test_first_version_accepted_then_better_one_promoted_worse_one_rejected(
    mlflow_server, register, model_name, cancer
):
    gate = GateConfig.from_dict(
        {"thresholds": {"accuracy": 0.7}, "min_improvement": 0.01, "slice_column": "clinic"}
    )
    weak = register("weak")
    first = evaluate_and_promote(mlflow_server, model_name, weak, cancer, config=gate)
    assert (first.accepted, first.promoted, first.champion_after) == (True, True, weak)
    assert "no champion yet" in first.reasons[0]

    good = register("good")
    second = evaluate_and_promote(mlflow_server, model_name, good, cancer, config=gate)
    assert (second.accepted, second.champion_before, second.champion_after) == (True, weak, good)
    assert second.metrics["challenger"] > second.metrics["champion"] + 0.01
    assert second.reasons[0].startswith(f"better than champion v{weak} beyond noise")
    assert alias_version(mlflow_server, model_name, PREVIOUS) == weak

    again = evaluate_and_promote(mlflow_server, model_name, good, cancer, config=gate)
    assert again.promoted and "already the champion" in again.reasons[0]

    worse = register("weak")
    third = evaluate_and_promote(mlflow_server, model_name, worse, cancer, config=gate)
    assert (third.accepted, third.promoted, third.champion_after) == (False, False, good)
    assert "improvement in accuracy" in third.reasons[0]
    assert "not better than champion v" in third.reasons[0]
    tags = resolve_model_version(mlflow_server, model_name, worse).tags
    assert tags["mlops.gate_decision"] == "rejected"
    assert json.loads(tags["mlops.gate_reasons"]) == third.reasons
    assert tags["mlops.holdout_rows"] == str(third.holdout["rows"]) == "114"
    assert tags["mlops.holdout_md5"] == third.holdout["md5"]
    assert json.loads(tags["mlops.split_rule"])["fraction"] == 0.2
    report = Path(
        mlflow.artifacts.download_artifacts(
            artifact_uri=third.report_uri.rsplit("/", 1)[0], tracking_uri=mlflow_server
        )
    )
    text = (report / "report.md").read_text()
    assert "REJECTED" in text and "| west |" in text
    assert "`accuracy` on the same 114 holdout rows, 95% paired bootstrap intervals" in text
    assert (report / "slices.png").read_bytes()[:4] == b"\x89PNG"


def test_challenger_worse_on_one_slice_is_rejected(mlflow_server, register, model_name, cancer):
    weak = register("weak")
    promote(mlflow_server, model_name, weak, expected_champion=None)
    broken = register("west_broken")
    gate = GateConfig.from_dict({"slice_column": "clinic", "slice_tolerance": 0.05})
    outcome = evaluate_and_promote(mlflow_server, model_name, broken, cancer, config=gate)
    assert not outcome.accepted and outcome.champion_after == weak
    assert outcome.metrics["challenger"] > outcome.metrics["champion"]  # better overall
    assert [r for r in outcome.reasons if "slice 'west'" in r], outcome.reasons


def test_latency_budget_and_absolute_threshold(mlflow_server, register, model_name, cancer):
    good = register("good")
    gate = GateConfig.from_dict({"thresholds": {"accuracy": 0.999}, "max_latency_ms": 1e-6})
    outcome = evaluate_and_promote(mlflow_server, model_name, good, cancer, config=gate)
    assert not outcome.accepted and alias_version(mlflow_server, model_name, CHAMPION) is None
    assert {r.split(":")[0] for r in outcome.reasons} == {
        "failed threshold accuracy",
        "failed latency p50 at batch 1 (ms)",
    }


def test_concurrent_promotions_one_wins_other_fails_cleanly(mlflow_server, register, model_name):
    base, one, two = register("weak"), register("good"), register("good")
    promote(mlflow_server, model_name, base, expected_champion=None)
    barrier = threading.Barrier(2)
    results: dict[str, object] = {}

    def attempt(version: str) -> None:
        barrier.wait()
        try:
            results[version] = promote(mlflow_server, model_name, version, expected_champion=base)
        except PromotionConflictError as error:
            results[version] = error

    threads = [threading.Thread(target=attempt, args=(v,)) for v in (one, two)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    errors = [v for v, r in results.items() if isinstance(r, PromotionConflictError)]
    winners = [v for v, r in results.items() if not isinstance(r, Exception)]
    assert len(errors) == 1 and len(winners) == 1, results
    assert alias_version(mlflow_server, model_name, CHAMPION) == winners[0]
    assert alias_version(mlflow_server, model_name, PREVIOUS) == base
    assert f"not version {base}" in str(results[errors[0]])
    assert resolve_model_version(mlflow_server, model_name, CHAMPION).version == winners[0]


def test_rollback_moves_champion_back_and_is_safe_to_retry(mlflow_server, register, model_name):
    first, second = register("weak"), register("good")
    promote(mlflow_server, model_name, first, expected_champion=None)
    promote(mlflow_server, model_name, second, expected_champion=first)
    with pytest.raises(PromotionConflictError):
        rollback(mlflow_server, model_name, expected_champion=first)
    back = rollback(mlflow_server, model_name)
    assert (back.champion, back.moved_from, back.already) == (first, second, False)
    assert alias_version(mlflow_server, model_name, PREVIOUS) is None
    assert resolve_model_version(mlflow_server, model_name, second).tags["mlops.rolled_back"]
    with pytest.raises(RegistryError, match="no earlier champion"):
        rollback(mlflow_server, model_name)


def test_busy_lock_fails_cleanly(mlflow_server, register, model_name):
    version = register("weak")
    busy = pytest.raises(PromotionConflictError, match="stayed busy")
    with champion_lock(mlflow_server, model_name), busy:
        promote(mlflow_server, model_name, version, expected_champion=None, lock_timeout_s=1)
    assert alias_version(mlflow_server, model_name, CHAMPION) is None
    names = [m.name for m in mlflow_client(mlflow_server).search_registered_models()]
    assert lock_name(model_name) not in names


def plant_lock(tracking_uri: str, model: str, owner: str, age_s: float = 0.0) -> None:
    """A promotion lock of ``model`` as its holder ``owner`` would have left it."""
    import time

    tags = {LOCK_TAG: json.dumps({"owner": owner, "since": time.time() - age_s})}
    mlflow_client(tracking_uri).create_registered_model(lock_name(model), tags=tags)


def lock_owner(tracking_uri: str, model: str) -> str | None:
    names = {m.name: m for m in mlflow_client(tracking_uri).search_registered_models()}
    held = names.get(lock_name(model))
    return None if held is None else json.loads(held.tags[LOCK_TAG])["owner"]


def test_lock_of_a_dead_process_of_this_host_is_broken_at_once(mlflow_server, register, model_name):
    import socket
    import subprocess
    import sys

    version = register("weak")
    holder = subprocess.Popen([sys.executable, "-c", "pass"])
    holder.wait()  # SIGKILLed or not, its process is gone
    plant_lock(mlflow_server, model_name, f"{socket.gethostname()}:{holder.pid}:dead")

    promote(mlflow_server, model_name, version, expected_champion=None, lock_timeout_s=5)

    assert alias_version(mlflow_server, model_name, CHAMPION) == version
    assert lock_owner(mlflow_server, model_name) is None


@pytest.mark.parametrize(("age_s", "busy"), [(0.0, True), (600.0, False)])
def test_lock_of_another_host_is_broken_only_when_stale(
    mlflow_server, register, model_name, age_s, busy
):
    version = register("weak")
    plant_lock(mlflow_server, model_name, "other-host:1234:alive", age_s=age_s)
    if busy:
        with pytest.raises(PromotionConflictError, match="other-host:1234"):
            promote(mlflow_server, model_name, version, expected_champion=None, lock_timeout_s=1)
        assert lock_owner(mlflow_server, model_name) == "other-host:1234:alive"
    else:
        promote(mlflow_server, model_name, version, expected_champion=None, lock_timeout_s=5)
        assert alias_version(mlflow_server, model_name, CHAMPION) == version
        assert lock_owner(mlflow_server, model_name) is None


def test_a_holder_never_releases_a_lock_taken_over_from_it(mlflow_server, model_name):
    client = mlflow_client(mlflow_server)
    with champion_lock(mlflow_server, model_name):
        client.delete_registered_model(lock_name(model_name))  # judged stale by another waiter
        plant_lock(mlflow_server, model_name, "other-host:99:took-over")
    assert lock_owner(mlflow_server, model_name) == "other-host:99:took-over"


def _traffic_log(root: Path, model: str, rows) -> Path:
    """Log ``rows`` as today's traffic of ``model``, as batch scoring would."""
    import datetime as dt

    from airflow_mlops.monitoring.scoring import log_partition

    folder = log_partition(root, model, dt.datetime.now(dt.UTC).date())
    folder.mkdir(parents=True)
    logged = rows.assign(prediction=0, model_version="1", scored_at="2026-11-23T00:00:00")
    logged.to_parquet(folder / "part-run.parquet")
    return root


def test_shadow_comparison_on_recent_traffic_gates_the_promotion(
    mlflow_server, register, model_name, cancer, tmp_path
):
    from airflow_mlops.model_registry.shadow import recent_traffic

    weak = register("weak")
    promote(mlflow_server, model_name, weak, expected_champion=None)
    broken = register("west_broken")  # better overall, says "malignant" to every west row
    west = cancer[cancer["clinic"] == "west"].drop(columns=["malignant"])
    traffic = recent_traffic(_traffic_log(tmp_path / "log", model_name, west), model_name)
    assert traffic is not None and len(traffic[0]) == len(west)
    assert len(west) < GateConfig().min_shadow_rows  # too few to judge by default
    gate = GateConfig.from_dict(
        {"slice_tolerance": 1.0, "min_shadow_agreement": 0.9, "min_shadow_rows": 50}
    )

    outcome = evaluate_and_promote(
        mlflow_server, model_name, broken, cancer, config=gate, traffic=traffic
    )

    shadow = outcome.metrics["shadow"]
    assert shadow["rows"] == len(west) and shadow["agreement"] < 0.9
    assert not outcome.accepted and outcome.champion_after == weak
    assert [r for r in outcome.reasons if "agreement with the champion" in r], outcome.reasons
    report = Path(
        mlflow.artifacts.download_artifacts(
            artifact_uri=outcome.report_uri.rsplit("/", 1)[0], tracking_uri=mlflow_server
        )
    )
    assert f"On {len(west)} rows of the inference log" in (report / "report.md").read_text()
