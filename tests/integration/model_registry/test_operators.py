"""The MLflow operators, run through ``execute()`` with a small task context, against a real
MLflow server; and a registration that loses its server midway."""

from __future__ import annotations

import json
import os
import signal
import threading
import time

import pytest
from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.sdk import DAG
from airflow.sdk.exceptions import DownstreamTasksSkipped

from airflow_mlops.lineage import (
    DAG_ID_TAG,
    FINGERPRINT_TAG,
    PARAMS_TAG,
    RUN_ID_TAG,
    TRIGGER_TAG,
    fingerprint,
    lineage_tag,
)
from airflow_mlops.model_registry import CHAMPION, RegistryUnavailableError, resolve_model_version
from airflow_mlops.model_registry.client import find_versions, mlflow_client
from airflow_mlops.model_registry.gate import GateDecision
from airflow_mlops.model_registry.register import register_onnx_model
from airflow_mlops.operators.model_registry import (
    EvaluateAndPromoteOperator,
    GateRejectedError,
    PromotionError,
    RegisterModelOperator,
    RollbackChampionOperator,
    SkipIfTrainedOperator,
)
from tests.support.context import make_task_context

pytestmark = pytest.mark.integration

PARAMS = {"epochs": 5, "lr": 0.01}
MD5 = "1" * 32
DIGEST = "sha256:" + "b" * 64


@pytest.fixture
def mlflow_conn(mlflow_server, monkeypatch) -> str:
    monkeypatch.setenv(
        "AIRFLOW_CONN_MLFLOW_DEFAULT", json.dumps({"conn_type": "mlflow", "host": mlflow_server})
    )
    return mlflow_server


def test_fingerprint_check_skips_downstream_only_when_the_fingerprint_is_known(
    mlflow_conn, onnx_models, model_name, lineage_for
):
    with DAG("ct_skip_test", schedule=None):
        check = SkipIfTrainedOperator(
            task_id="check",
            model_name=model_name,
            data_md5=MD5,
            image_digest=DIGEST,
            training_params=json.dumps(PARAMS),
        )
        train = EmptyOperator(task_id="train")
        check >> train >> EmptyOperator(task_id="register")
    first = check.execute(make_task_context(task=check))
    assert first == {
        "fingerprint": fingerprint(MD5, DIGEST, PARAMS),
        "trained": False,
        "version": None,
        "evaluated": False,
    }

    lineage = lineage_for("manual__trained", fingerprint=first["fingerprint"])
    register_onnx_model(mlflow_conn, model_name, onnx_models["weak"], lineage)
    context = make_task_context(task=check)
    with pytest.raises(DownstreamTasksSkipped) as skipped:
        check.execute(context)
    assert sorted(skipped.value.tasks) == ["register", "train"]
    assert context["ti"].pushed["return_value"]["version"] == "1"


def test_fingerprint_lookup_reads_rest_without_importing_mlflow(
    mlflow_server, onnx_models, model_name, lineage_for
):
    """The skip check of an unchanged rerun runs in a fresh task process: it must not pay
    ``import mlflow``; its answer equals the MLflow client's."""
    import subprocess
    import sys

    for run in ("manual__rest_1", "manual__rest_2"):  # the oldest of the two is the answer
        lineage = lineage_for(run, fingerprint="f" * 64)
        register_onnx_model(mlflow_server, model_name, onnx_models["weak"], lineage)
    script = (
        "import json, sys\n"
        "from airflow_mlops.model_registry.client import find_trained_version\n"
        f"found = [find_trained_version({mlflow_server!r}, {model_name!r}, fp)"
        " for fp in ('f' * 64, 'e' * 64)]\n"
        "print(json.dumps([found, 'mlflow' in sys.modules]))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    found, imported_mlflow = json.loads(done.stdout.splitlines()[-1])

    by_client = find_versions(mlflow_server, model_name, {FINGERPRINT_TAG: "f" * 64})
    assert found == [by_client[0].version, None] == ["1", None]
    assert imported_mlflow is False


def test_register_operator_records_lineage_and_is_idempotent(
    mlflow_conn, onnx_models, model_name, cancer, tmp_path
):
    holdout = tmp_path / "holdout.csv"
    cancer.head(20).to_csv(holdout, index=False)
    with DAG("ct_register_test", schedule=None):
        register = RegisterModelOperator(
            task_id="register",
            model_name=model_name,
            onnx_uri=f"file://{onnx_models['good']}",
            # as a template renders it without native rendering: a Python literal string
            lineage=str(
                {
                    "dataset": "cancer",
                    "data_rev": "v2",
                    "data_md5": MD5,
                    "validation_outcome": "passed",
                    "params": PARAMS,
                }
            ),
            training_result={"metrics": {"val_accuracy": 0.97}, "image_digest": DIGEST},
            export_result={"parity_max_abs": 2.5e-7, "latency": {"batch_1": {"p50_ms": 0.04}}},
            fingerprint=fingerprint(MD5, DIGEST, PARAMS),
            example_uri=str(holdout),
        )
    done = register.execute(
        make_task_context(task=register, run_id="scheduled__x", run_type="scheduled")
    )
    assert (done["version"], done["reused"], done["alias"]) == ("1", False, "challenger")
    tags = resolve_model_version(mlflow_conn, model_name, "challenger").tags
    assert tags[DAG_ID_TAG] == "ct_register_test"
    assert tags[RUN_ID_TAG] == "scheduled__x"
    assert tags[TRIGGER_TAG] == "schedule"
    assert tags[lineage_tag("image_digest")] == DIGEST
    assert tags[lineage_tag("parity_max_abs")] == "2.5e-07"
    assert tags[lineage_tag("latency_p50_ms_b1")] == "0.04"
    assert json.loads(tags[PARAMS_TAG]) == PARAMS
    assert tags[lineage_tag("git_sha")] not in ("", "unknown")
    run = mlflow_client(mlflow_conn).get_run(done["run_id"])
    assert run.data.metrics["val_accuracy"] == 0.97 and run.data.params["lr"] == "0.01"

    retry = register.execute(
        make_task_context(task=register, run_id="scheduled__x", run_type="scheduled")
    )
    assert retry["reused"] and retry["version"] == "1"


class AlwaysReject(EvaluateAndPromoteOperator):
    """A user's rule, by overriding compare()."""

    def compare(self, challenger, champion):
        return GateDecision(False, ["house rule: no promotions on Fridays"], [])


def test_promote_operator_gate_subclass_and_rollback(
    mlflow_conn, onnx_models, model_name, lineage_for, cancer, tmp_path
):
    holdout = tmp_path / "holdout.csv"
    cancer.to_csv(holdout, index=False)
    weak = register_onnx_model(mlflow_conn, model_name, onnx_models["weak"], lineage_for("a"))
    good = register_onnx_model(mlflow_conn, model_name, onnx_models["good"], lineage_for("b"))
    with DAG("ct_promote_test", schedule=None):
        common = {"model_name": model_name, "holdout_uri": str(holdout)}
        first = EvaluateAndPromoteOperator(
            task_id="first",
            challenger_version=weak.version,
            gate={"min_improvement": 0.01},
            segment_column="clinic",
            **common,
        )
        picky = AlwaysReject(
            task_id="picky", challenger_version=good.version, fail_on_reject=True, **common
        )
        second = EvaluateAndPromoteOperator(
            task_id="second", challenger_version=good.version, promote="True", **common
        )
        rollback = RollbackChampionOperator(task_id="rollback", model_name=model_name)
    assert first.execute(make_task_context(task=first))["champion_after"] == weak.version
    with pytest.raises(GateRejectedError, match="house rule") as rejected:
        picky.execute(make_task_context(task=picky))
    assert "Full report: mlflow-artifacts:" in str(rejected.value)
    outcome = second.execute(make_task_context(task=second))
    assert (outcome["champion_before"], outcome["champion_after"]) == (weak.version, good.version)
    assert rollback.execute(make_task_context(task=rollback))["champion"] == weak.version
    assert resolve_model_version(mlflow_conn, model_name, CHAMPION).version == weak.version


def test_invalid_gate_is_refused_when_the_dag_is_parsed():
    from airflow_mlops.errors import ConfigError

    with pytest.raises(ConfigError, match="slice_tolerance"):
        EvaluateAndPromoteOperator(
            task_id="bad",
            model_name="m",
            challenger_version="1",
            holdout_uri="x.csv",
            gate={"slice_tolerance": -1},
        )


def test_promote_operator_wraps_missing_version(mlflow_conn, model_name, cancer, tmp_path):
    holdout = tmp_path / "holdout.csv"
    cancer.head(10).to_csv(holdout, index=False)
    with DAG("ct_missing_test", schedule=None):
        task = EvaluateAndPromoteOperator(
            task_id="promote",
            model_name=model_name,
            challenger_version="7",
            holdout_uri=str(holdout),
        )
    with pytest.raises(PromotionError, match="nothing to get version 7") as failed:
        task.execute(make_task_context(task=task))
    assert "Full details: the log of task 'promote'" in str(failed.value)


@pytest.mark.slow
def test_server_down_during_registration_then_retry_succeeds_without_duplicate(
    tmp_path, onnx_models, lineage_for, monkeypatch
):
    from airflow_mlops.local.services import free_port, mlflow_server_spec, start_service

    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "10")
    spec = mlflow_server_spec(tmp_path / "store", free_port())
    dirs = {"run_dir": tmp_path / "run", "log_dir": tmp_path / "logs"}
    server = start_service(spec, **dirs)
    uri = f"http://127.0.0.1:{spec.port}"
    lineage = lineage_for("scheduled__outage")
    failures: list[Exception] = []

    def attempt() -> None:
        try:
            register_onnx_model(uri, "outage", onnx_models["good"], lineage)
        except RegistryUnavailableError as error:
            failures.append(error)

    worker = threading.Thread(target=attempt)
    worker.start()
    client = mlflow_client(uri)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not client.search_runs(
        [e.experiment_id for e in client.search_experiments()],
        filter_string="tags.`mlops.run_id` = 'scheduled__outage'",
    ):
        time.sleep(0.05)
    os.killpg(server.pid, signal.SIGKILL)  # a crash, mid-registration
    worker.join()
    assert failures and "unreachable" in str(failures[0]), "the server died too late"
    with pytest.raises(RegistryUnavailableError, match="safe to retry"):
        register_onnx_model(uri, "outage", onnx_models["good"], lineage)

    server = start_service(spec, **dirs)
    try:
        done = register_onnx_model(uri, "outage", onnx_models["good"], lineage)
        again = register_onnx_model(uri, "outage", onnx_models["good"], lineage)
        assert again.reused and again.version == done.version == "1"
        assert len(find_versions(uri, "outage", {})) == 1
    finally:
        os.killpg(server.pid, signal.SIGKILL)
