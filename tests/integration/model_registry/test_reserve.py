"""One fingerprint gives at most one version across the DAGs of a model: the reservation
before training, against a real MLflow server."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from typing import Any

import pytest
from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.sdk import DAG
from airflow.sdk.exceptions import DownstreamTasksSkipped

from airflow_mlops.model_registry.client import mlflow_client
from airflow_mlops.model_registry.register import register_onnx_model
from airflow_mlops.model_registry.reserve import reservation_tag, reserve_fingerprint
from airflow_mlops.operators.skip_trained import SkipIfTrainedOperator
from tests.support.context import make_task_context

pytestmark = pytest.mark.integration

FP = "c" * 64


def at_once(calls: list[Callable[[], Any]]) -> list[Any]:
    """Run ``calls`` in threads released together; each result or the exception it raised."""
    barrier = threading.Barrier(len(calls))
    results: list[Any] = [None] * len(calls)

    def run(index: int) -> None:
        barrier.wait()
        try:
            results[index] = calls[index]()
        except Exception as error:  # the test inspects it
            results[index] = error

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def test_two_dags_reserve_at_once_one_wins_until_its_version_exists(
    mlflow_server, onnx_models, model_name, lineage_for
):
    owners = ["mlops_level0/manual__same", "mlops_level1/manual__same"]
    answers = at_once(
        [lambda o=o: reserve_fingerprint(mlflow_server, model_name, FP, owner=o) for o in owners]
    )
    granted = [a for a in answers if a.granted]
    refused = [a for a in answers if not a.granted]
    assert len(granted) == 1 and len(refused) == 1, answers
    winner = owners[answers.index(granted[0])]
    assert refused[0].holder["owner"] == winner
    # a retry of the winner gets its own reservation back
    assert reserve_fingerprint(mlflow_server, model_name, FP, owner=winner).granted

    version = register_onnx_model(
        mlflow_server, model_name, onnx_models["weak"], lineage_for("manual__same", fingerprint=FP)
    ).version
    assert (
        reservation_tag(FP)
        not in mlflow_client(mlflow_server).get_registered_model(model_name).tags
    )
    late = reserve_fingerprint(mlflow_server, model_name, FP, owner=owners[1])
    assert (late.granted, late.version) == (False, version)


def test_a_later_run_of_a_one_at_a_time_dag_takes_over(mlflow_server, model_name):
    first = reserve_fingerprint(mlflow_server, model_name, FP, owner="d/run1", group="d")
    other_dag = reserve_fingerprint(mlflow_server, model_name, FP, owner="e/run1", group="e")
    same_dag = reserve_fingerprint(mlflow_server, model_name, FP, owner="d/run2", group="d")
    assert (first.granted, other_dag.granted, same_dag.granted) == (True, False, True)
    stale = reserve_fingerprint(mlflow_server, model_name, FP, owner="e/run1", stale_after_s=0)
    assert stale.granted


def test_level0_and_level1_checks_started_at_once_train_once(
    mlflow_server, model_name, monkeypatch
):
    monkeypatch.setenv(
        "AIRFLOW_CONN_MLFLOW_DEFAULT", json.dumps({"conn_type": "mlflow", "host": mlflow_server})
    )
    checks = []
    for dag_id in ("mlops_level0", "mlops_level1"):
        with DAG(dag_id, schedule=None, max_active_runs=1):
            check = SkipIfTrainedOperator(
                task_id="check_fingerprint",
                model_name=model_name,
                data_md5="2" * 32,
                training_params={"epochs": 3},
            )
            check >> EmptyOperator(task_id="train") >> EmptyOperator(task_id="register")
        checks.append(check)
    contexts = [make_task_context(task=c, run_id="manual__same_conf") for c in checks]
    pairs = zip(checks, contexts, strict=True)
    results = at_once([lambda c=c, x=x: c.execute(x) for c, x in pairs])
    trains = [r for r in results if isinstance(r, dict)]
    skips = [i for i, r in enumerate(results) if isinstance(r, DownstreamTasksSkipped)]
    assert len(trains) == 1 and len(skips) == 1, results
    assert sorted(results[skips[0]].tasks) == ["register", "train"]
    pushed = contexts[skips[0]]["ti"].pushed["return_value"]
    assert pushed["reserved_by"]["owner"].endswith("/manual__same_conf")
    assert pushed["fingerprint"] == trains[0]["fingerprint"]
