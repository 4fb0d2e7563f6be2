"""Concurrent CT runs on PostgreSQL with the LocalExecutor: nothing lost, nothing duplicated.

One cluster (api-server, scheduler, DAG processor; PostgreSQL metadata DB) runs 12 CT runs
triggered at once:

- 8 DAGs with 8 different models, one run each;
- one DAG (``max_active_runs=1``) triggered twice with the same params: the runs must not
  overlap, and the second must find the fingerprint of the first and skip training;
- two DAGs of one shared model, triggered with different seeds: ``max_active_runs`` cannot
  serialise them, so their promotions race on the ``champion`` alias; the compare-and-set must
  leave one consistent history (no promotion from a champion that was already replaced).

Every run must end within a bounded wait; then each model must have exactly its expected
versions and one champion, accepted by its gate, with ``previous`` the champion it replaced.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from typing import Any

import pytest

from airflow_mlops.lineage import GATE_DECISION_TAG, RUN_ID_TAG
from airflow_mlops.model_registry.client import mlflow_client
from airflow_mlops.model_registry.promote import LOCK_SUFFIX

pytestmark = [pytest.mark.slow, pytest.mark.integration, pytest.mark.timeout(1500)]

SINGLE = 8
#: a bound on the whole batch: a stuck run fails the test instead of hanging it
BATCH_TIMEOUT_S = 1200
PROMOTE = "evaluate_and_promote"
FINAL_STATES = {"success", "failed", "skipped", "upstream_failed", "removed"}


@dataclass(frozen=True)
class Run:
    dag_id: str
    run_id: str
    model: str
    run: dict[str, Any]
    tasks: dict[str, dict[str, Any]]
    promotion: dict[str, Any] | None


@dataclass(frozen=True)
class Outcome:
    runs: list[Run]
    registry: dict[str, Any]
    models: dict[str, int]
    locks: list[str]
    wall_s: float
    cluster: Any


@pytest.fixture(scope="module")
def outcome(start_cluster) -> Outcome:
    prefix = f"conc-{uuid.uuid4().hex[:6]}"
    common = {"retries": 1, "retry_delay_s": 2}
    dags = {f"ct_single_{i}": {**common, "model_name": f"{prefix}-m{i}"} for i in range(SINGLE)}
    dags["ct_serial"] = {**common, "model_name": f"{prefix}-serial", "max_active_runs": 1}
    for side in ("a", "b"):
        # a lost compare-and-set is retried: the retry re-evaluates against the new champion
        dags[f"ct_shared_{side}"] = {**common, "model_name": f"{prefix}-shared", "retries": 2}
    # eight task processes at once; one torch thread each on a two-core machine
    env = {"AIRFLOW__CORE__PARALLELISM": "8", "OMP_NUM_THREADS": "1"}
    cluster = start_cluster("concurrency", dags, env=env)
    triggers = [(dag_id, {}) for dag_id in dags if dag_id.startswith("ct_single_")]
    triggers += [("ct_serial", {}), ("ct_serial", {})]
    triggers += [("ct_shared_a", {"seed": 1}), ("ct_shared_b", {"seed": 2})]
    started = time.monotonic()
    triggered = [(dag_id, cluster.api.trigger(dag_id, conf)) for dag_id, conf in triggers]
    runs = []
    for dag_id, run_id in triggered:
        left = BATCH_TIMEOUT_S - (time.monotonic() - started)
        run = cluster.api.wait_for_run(dag_id, run_id, timeout_s=max(left, 1))
        tasks = {ti["task_id"]: ti for ti in cluster.api.task_instances(dag_id, run_id)}
        promotion = None
        if tasks.get(PROMOTE, {}).get("state") == "success":
            promotion = cluster.api.xcom(dag_id, run_id, PROMOTE)
        runs.append(Run(dag_id, run_id, dags[dag_id]["model_name"], run, tasks, promotion))
    wall_s = time.monotonic() - started
    models = {dags[dag_id]["model_name"]: 1 for dag_id in dags}
    models[f"{prefix}-shared"] = 2
    registry = {model: cluster.registry(model) for model in models}
    client = mlflow_client(cluster.mlflow_url)
    locks = [m.name for m in client.search_registered_models(f"name LIKE '{prefix}%'")]
    locks = [name for name in locks if name.endswith(LOCK_SUFFIX)]
    shared = [
        (r.dag_id, r.tasks[PROMOTE]["try_number"], r.promotion)
        for r in runs
        if r.dag_id.startswith("ct_shared_")
    ]
    print(f"\n{len(runs)} runs in {wall_s:.0f} s; shared model: {shared}")
    return Outcome(runs, registry, models, locks, wall_s, cluster)


def test_every_run_ends_successfully_within_the_bound(outcome: Outcome) -> None:
    states = {(r.dag_id, r.run_id): r.run["state"] for r in outcome.runs}
    assert set(states.values()) == {"success"}, states
    assert outcome.wall_s < BATCH_TIMEOUT_S
    for run in outcome.runs:  # no task left queued or running behind a finished run
        assert {ti["state"] for ti in run.tasks.values()} <= FINAL_STATES, run.tasks


def test_each_model_has_exactly_its_versions(outcome: Outcome) -> None:
    found = {model: len(state.versions) for model, state in outcome.registry.items()}
    assert found == outcome.models
    for model, state in outcome.registry.items():
        assert sorted(state.versions, key=int) == [
            str(n) for n in range(1, len(state.versions) + 1)
        ]
        run_ids = [tags[RUN_ID_TAG] for tags in state.versions.values()]
        assert len(set(run_ids)) == len(run_ids), f"{model}: two versions from one run"


def test_max_active_runs_serialises_and_the_rerun_skips_training(outcome: Outcome) -> None:
    first, second = sorted(
        (r for r in outcome.runs if r.dag_id == "ct_serial"), key=lambda r: r.run["start_date"]
    )
    assert first.run["end_date"] <= second.run["start_date"]
    assert first.tasks["train"]["state"] == "success"
    assert second.tasks["train"]["state"] == "skipped"  # same data, image and params


def test_one_champion_per_model_accepted_by_its_gate(outcome: Outcome) -> None:
    assert outcome.locks == []  # every promotion released its lock
    for model, state in outcome.registry.items():
        champion = state.champion
        assert champion is not None, f"{model} has no champion"
        assert state.versions[champion][GATE_DECISION_TAG] == "accepted"
        previous = state.aliases.get("previous")
        if previous is not None:
            assert previous != champion
            assert state.versions[previous][GATE_DECISION_TAG] == "accepted"


def test_promotions_of_a_shared_model_form_one_history(outcome: Outcome) -> None:
    """Compare-and-set: no two promotions start from the same champion (a lost update), and
    the aliases are the end of the chain of moves."""
    for model, state in outcome.registry.items():
        moves = [
            (r.promotion["champion_before"], r.promotion["challenger_version"])
            for r in outcome.runs
            if r.model == model
            and r.promotion
            and r.promotion["promoted"]
            and r.promotion["champion_before"] != r.promotion["challenger_version"]
        ]
        sources = [before for before, _ in moves]
        assert len(set(sources)) == len(sources), f"{model}: lost update in {moves}"
        chain, current = [], None
        moved = dict(moves)
        while current in moved:
            current = moved[current]
            chain.append(current)
        assert len(chain) == len(moves), f"{model}: moves {moves} are not one history"
        assert state.champion == chain[-1]
        assert state.aliases.get("previous") == (chain[-2] if len(chain) > 1 else None)
