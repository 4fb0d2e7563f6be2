"""Whole level-1 CT runs against MLflow faults, and a retry of every task after a partial failure.

MLflow goes away through a loopback HTTP proxy the DAG talks to (:class:`MlflowProxy`): down
refuses connections like a dead server; a rule cuts one request before MLflow sees it, or after
MLflow answered (the version exists, the task never hears so). Operator-level kills of a real
MLflow server mid-registration are in tests/integration/registry/test_operators.py.
"""

from __future__ import annotations

import contextlib
import errno
import json
import re
import uuid
from dataclasses import dataclass
from typing import Any

import pytest

from airflow_mlops.lineage import GATE_DECISION_TAG, ONNX_SHA256_TAG, RUN_ID_TAG
from tests.reliability.conftest import CTHarness, CTRun, RegistryState
from tests.reliability.faults import (
    TASKS,
    Rule,
    fail_first_try,
    failed_at,
    leftovers,
    mlflow_proxy,
    tree,
)

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

#: where a CT run writes, under the MLOps home: workspaces and artifacts, per DAG id
RUN_ROOTS = ("workspaces/data", "artifacts/training", "artifacts/onnx", "artifacts/validation")


@dataclass(frozen=True)
class RunFootprint:
    """What one run left: its registry state, MLflow runs and files (run id made generic)."""

    registry: RegistryState
    mlflow_runs: list[str]
    files: list[str]
    temp: list[str]


def footprint(harness: CTHarness, run: CTRun) -> RunFootprint:
    from airflow_mlops.settings import MlopsHome

    home = MlopsHome.from_env()
    roots = [home.root / root / run.dag_id for root in RUN_ROOTS]
    files = [re.sub(r"^manual__[^/]+", "RUN", path) for root in roots for path in tree(root)]
    return RunFootprint(
        registry=harness.registry(),
        mlflow_runs=mlflow_runs(harness.mlflow_url, harness.model_name),
        files=sorted(files),
        temp=[path for root in roots for path in leftovers(root)],
    )


def mlflow_runs(mlflow_url: str, model_name: str) -> list[str]:
    """The statuses of the registration runs of ``model_name`` (its ``ct/<name>`` experiment)."""
    from mlflow import MlflowClient

    client = MlflowClient(mlflow_url)
    experiment = client.get_experiment_by_name(f"ct/{model_name}")
    if experiment is None:
        return []
    return sorted(r.info.status for r in client.search_runs([experiment.experiment_id]))


@dataclass(frozen=True)
class Clean:
    """A clean run of a fresh model: the reference end state, and a champion to copy."""

    harness: CTHarness
    run: CTRun
    footprint: RunFootprint


@pytest.fixture(scope="module")
def clean(ct_services: str, tmp_path_factory: pytest.TempPathFactory) -> Any:
    from airflow import settings

    with pytest.MonkeyPatch.context() as patch:
        dags = tmp_path_factory.mktemp("clean-dags")
        patch.setattr(settings, "DAGS_FOLDER", str(dags))
        patch.setenv("AIRFLOW__CORE__DAGS_FOLDER", str(dags))
        patch.setenv("MLFLOW_TRACKING_URI", ct_services)
        patch.setenv(
            "AIRFLOW_CONN_MLFLOW_DEFAULT", json.dumps({"conn_type": "mlflow", "host": ct_services})
        )
        harness = CTHarness(ct_services, dags, patch, f"rel-clean-{uuid.uuid4().hex[:8]}")
        run = harness.run()
        assert run.state == "success", run
        yield Clean(harness, run, footprint(harness, run))


def with_champion_of(ct: CTHarness, clean: Clean) -> RegistryState:
    """Give the test's model the clean run's champion (same logged model) as its champion."""
    from mlflow import MlflowClient

    client = MlflowClient(ct.mlflow_url)
    source = client.get_model_version_by_alias(clean.harness.model_name, "champion")
    client.create_registered_model(ct.model_name)
    copy = client.create_model_version(
        ct.model_name,
        source.source,
        run_id=source.run_id,
        tags={ONNX_SHA256_TAG: source.tags[ONNX_SHA256_TAG]},
        model_id=source.source.removeprefix("models:/"),
    )
    client.set_registered_model_alias(ct.model_name, "champion", copy.version)
    return ct.registry()


#: MLflow goes down as this task starts -> the task that fails on it
DOWN_FROM = {"prepare_run": "check_fingerprint", "register_model": "register_model"}


@pytest.mark.parametrize("down_from", DOWN_FROM)
def test_mlflow_down_keeps_the_champion(down_from: str, ct, clean, capfd) -> None:
    before = with_champion_of(ct, clean)
    with mlflow_proxy(ct.mlflow_url, ct.monkeypatch) as proxy:
        dag = ct.dag()
        fail_first_try(ct.monkeypatch, dag.get_task(down_from), lambda p, c: proxy.down())
        run = ct.run(dag)

    failing = DOWN_FROM[down_from]
    failed_at(run, failing)
    log = capfd.readouterr().out
    assert f"RegistrationError: MLflow at {proxy.url} is unreachable while trying to" in log
    assert "the task is safe to retry" in log
    assert f"Full details: the log of task {failing!r}" in log
    assert ct.registry() == before
    assert mlflow_runs(ct.mlflow_url, ct.model_name) == []  # nothing logged either


#: a request of the registration cut -> the statuses of the registration runs afterwards
CUTS = {
    # MLflow made the version but its answer is lost: the retry finds and reuses it
    "version-made-answer-lost": (Rule("POST", "/model-versions/create", "response"), ["FINISHED"]),
    # the model upload never reaches MLflow: that run ends FAILED, the retry logs a new one
    "upload-lost": (Rule("PUT", "/mlflow-artifacts/artifacts/", "request"), ["FAILED", "FINISHED"]),
}


@pytest.mark.parametrize("cut", CUTS)
def test_registration_cut_mid_way_retry_makes_one_version(cut: str, ct, clean, capfd) -> None:
    rule, runs = CUTS[cut]
    before = with_champion_of(ct, clean)
    with mlflow_proxy(ct.mlflow_url, ct.monkeypatch) as proxy:
        proxy.rules.append(rule)
        run = ct.run(ct.dag(retries=1))

    assert run.state == "success", run
    assert run.try_numbers["register_model"] == 2, proxy.paths()
    assert len(proxy.paths(f"cut-{rule.cut}")) == 1
    assert "RegistrationError: MLflow at" in capfd.readouterr().out
    after = ct.registry()
    made = {n: tags for n, tags in after.versions.items() if n not in before.versions}
    assert len(made) == 1, after.versions  # no duplicate version
    ((number, tags),) = made.items()
    assert tags[RUN_ID_TAG] == run.run_id
    assert mlflow_runs(ct.mlflow_url, ct.model_name) == runs
    accepted = tags[GATE_DECISION_TAG] == "accepted"
    assert after.champion == (number if accepted else before.champion)
    assert after.aliases["challenger"] == number


# --- every task fails once, mid-way, and its retry succeeds --------------------------------


def _injected(what: str) -> OSError:
    return OSError(errno.EIO, f"injected fault: {what}")


def _cut_before_publish(patch: pytest.MonkeyPatch, module: Any) -> None:
    """``module.atomic_directory`` fills its staging directory, then fails before publishing."""
    real = module.atomic_directory

    @contextlib.contextmanager
    def cut(path: Any):
        with real(path) as staging:
            yield staging
            raise _injected(f"cut after writing {staging.name}, before publishing {path}")

    patch.setattr(module, "atomic_directory", cut)


def _then_fail(patch: pytest.MonkeyPatch, module: Any, name: str, error: Exception) -> None:
    """``module.name`` does its work, then raises ``error`` (the answer is lost)."""
    real = getattr(module, name)

    def call(*args: Any, **kwargs: Any) -> Any:
        real(*args, **kwargs)
        raise error

    patch.setattr(module, name, call)


def _arms() -> dict[str, Any]:
    """Per task: what its first try does before failing."""
    from airflow_mlops.data import dvc
    from airflow_mlops.errors import TrainingError
    from airflow_mlops.export import exporter
    from airflow_mlops.model_registry import client, evaluation, register
    from airflow_mlops.model_registry.client import RegistryUnavailableError
    from airflow_mlops.operators.ct import PrepareCTRunOperator
    from airflow_mlops.training import container
    from airflow_mlops.validation import validate

    lost = RegistryUnavailableError("injected fault: MLflow's answer was lost")

    def prepare(patch: pytest.MonkeyPatch, context: Any) -> None:
        context["ti"].xcom_push(key="return_value", value={"data_rev": "not-this-one"})

        def no_image(self: Any) -> str:
            raise _injected("prepare_run died after pushing a bogus XCom")

        patch.setattr(PrepareCTRunOperator, "training_image", no_image)

    def pull(patch: pytest.MonkeyPatch, context: Any) -> None:
        _cut_before_publish(patch, dvc)

    def train(patch: pytest.MonkeyPatch, context: Any) -> None:
        failed = TrainingError("injected fault: the checkpoint was written, the task died")
        _then_fail(patch, container, "read_result", failed)

    return {
        "prepare_run": prepare,
        "pull_data": pull,
        "check_fingerprint": lambda p, c: _then_fail(p, client, "find_trained_version", lost),
        "pull_reference": pull,
        "validate_data": lambda p, c: _cut_before_publish(p, validate),
        "train": train,
        "export_onnx": lambda p, c: _cut_before_publish(p, exporter),
        "register_model": lambda p, c: _then_fail(p, register, "ensure_registered_model", lost),
        "evaluate_and_promote": lambda p, c: _then_fail(p, evaluation, "move_champion", lost),
    }


def test_every_task_fails_once_mid_way_and_the_retries_end_like_a_clean_run(ct, clean) -> None:
    dag = ct.dag(retries=1)
    arms, failures = _arms(), {}
    assert set(arms) == set(TASKS) == set(dag.task_ids)
    for task_id, arm in arms.items():
        fail_first_try(ct.monkeypatch, dag.get_task(task_id), arm, failures)

    run = ct.run(dag)

    assert run.state == "success", run
    assert run.try_numbers == dict.fromkeys(TASKS, 2), run  # each failed once, then recovered
    assert failures.keys() == set(TASKS)
    assert all("injected fault" in error for error in failures.values()), failures
    mine, reference = footprint(ct, run), clean.footprint
    assert mine.temp == reference.temp == []
    assert mine.files == reference.files
    assert mine.mlflow_runs == reference.mlflow_runs == ["FINISHED"]
    assert (
        mine.registry.aliases
        == reference.registry.aliases
        == {
            "champion": "1",
            "challenger": "1",
        }
    )
    assert mine.registry.versions.keys() == reference.registry.versions.keys() == {"1"}
    assert mine.registry.versions["1"].keys() == reference.registry.versions["1"].keys()
    assert mine.registry.versions["1"][RUN_ID_TAG] == run.run_id
