"""The whole CT story on the real stack: Airflow standalone (scheduler, triggerer, DAG
processor), the MLflow server, the DVC registry and, in CI, the Docker engine.

Asserts the registry state after each step: level 2 deploys and CT promotes v1; new data
starts CT through the sensor's asset event; drift starts CT through monitoring's asset event;
an unchanged rerun skips training; a corrupt delivery is stopped with the champion unchanged.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from airflow_mlops.cicd import IMAGE_CHECKS
from airflow_mlops.lineage import DATA_REV_TAG, GATE_DECISION_TAG, TRIGGER_TAG
from airflow_mlops.local.demo.pipeline import BACKEND_ENV, MODEL_NAME
from airflow_mlops.local.demo.registry import bootstrap_registry
from airflow_mlops.local.services import free_port
from airflow_mlops.local.stack import StackConfig, down, up
from airflow_mlops.settings import MlopsHome

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.integration]
REPO = Path(__file__).resolve().parents[2]


def _backend() -> str:
    base = os.environ.get("AIRFLOW_MLOPS_BASE_IMAGE", "local/bookworm-py:base")
    try:
        ready = subprocess.run(["docker", "image", "inspect", base], capture_output=True)
    except FileNotFoundError:
        ready = None
    if ready is not None and ready.returncode == 0:
        return "docker"
    if os.environ.get("AIRFLOW_MLOPS_REQUIRE_DOCKER") == "1":
        pytest.fail(f"Docker engine or base image {base} missing; run scripts/ensure-docker.sh")
    return "local"


@pytest.fixture(scope="module")
def story(tmp_path_factory: pytest.TempPathFactory):
    from airflow_mlops.local.demo.story import run_story

    home = MlopsHome(tmp_path_factory.mktemp("story"))
    config = StackConfig(
        home=home, dags_folder=REPO / "dags", airflow_port=free_port(), mlflow_port=free_port()
    )
    saved = {key: os.environ.get(key) for key in (BACKEND_ENV, "AIRFLOW_MLOPS_HOME")}
    os.environ[BACKEND_ENV] = _backend()
    os.environ["AIRFLOW_MLOPS_HOME"] = str(home.root)
    bootstrap_registry(home.registry_repo, home.dvc_remote)
    up(config)
    try:
        yield run_story(config)
    finally:
        down(config)
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _versions(story) -> dict[str, dict[str, str]]:
    from airflow_mlops.model_registry.client import mlflow_client

    client = mlflow_client(story.config.mlflow_url)
    found = client.search_model_versions(f"name='{MODEL_NAME}'")
    return {v.version: dict(v.tags) for v in found}


def _ct_runs(step) -> list[dict]:
    return [run for run in step.runs if run["dag_id"] == "mlops_level1_ct"]


def test_each_step_of_the_story(story) -> None:
    level2, new_data, drift, rerun, corrupt = story.steps
    versions = _versions(story)

    assert level2.states("mlops_level2_cicd") == ["success"]
    # level 2 ran the pytest plugin's pipeline tests in the image it deployed
    assert [(c["name"], c["passed"]) for c in level2.checks] == [(n, True) for n in IMAGE_CHECKS]
    assert set(level2.states("mlops_level1_ct")) == {"success"}
    assert level2.champion == "1"
    assert versions["1"][DATA_REV_TAG]  # lineage recorded

    assert new_data.states("mlops_data_arrival") == ["success"]
    new_data_runs = _ct_runs(new_data)  # events arriving during a run may start one more
    assert {(r["state"], r["run_type"]) for r in new_data_runs} == {("success", "asset_triggered")}
    by_trigger = {tags.get(TRIGGER_TAG): number for number, tags in versions.items()}
    assert "new_data" in by_trigger
    assert versions[by_trigger["new_data"]][GATE_DECISION_TAG] in ("accepted", "rejected")

    assert drift.states("mlops_monitoring") == ["success"]
    assert {run["run_type"] for run in _ct_runs(drift)} == {"asset_triggered"}
    assert {run["state"] for run in _ct_runs(drift)} == {"success"}
    assert "drift" in by_trigger

    assert rerun.states("mlops_level1_ct") == ["success"]
    states = story.api.task_states("mlops_level1_ct", rerun.runs[0]["dag_run_id"])
    assert states["train"] == "skipped"
    assert rerun.champion == drift.champion

    assert corrupt.states("mlops_level1_ct") == ["failed"]
    states = story.api.task_states("mlops_level1_ct", corrupt.runs[0]["dag_run_id"])
    assert states["validate_data"] == "failed"
    assert states["train"] in ("upstream_failed", None)
    assert corrupt.champion == rerun.champion
    assert len(_versions(story)) == len(versions)  # nothing registered by the failed run


def test_the_stack_has_a_login_and_refuses_foreign_hosts(story) -> None:
    """No anonymous admin: the API wants the generated password; another Host header is a 400
    (a page on a name that resolves to this machine cannot drive Airflow)."""
    import urllib.error
    import urllib.request

    from airflow_mlops.errors import ServiceError
    from airflow_mlops.local.airflow_api import AirflowApi
    from airflow_mlops.local.stack import ADMIN_USER, admin_password

    base = story.config.airflow_url
    with pytest.raises(urllib.error.HTTPError) as anonymous:
        urllib.request.urlopen(f"{base}/api/v2/dags", timeout=30)
    assert anonymous.value.code == 401
    with pytest.raises(ServiceError, match="refused the login of 'admin'"):
        AirflowApi.login(base, ADMIN_USER, "wrong-password")
    api = AirflowApi.login(base, ADMIN_USER, admin_password(story.config))
    assert "mlops_level1_ct" in api.dag_ids()
    rebinding = urllib.request.Request(
        f"{base}/api/v2/monitor/health", headers={"Host": "attacker.example"}
    )
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(rebinding, timeout=30)
    assert refused.value.code == 400
    # `airflow-mlops up` on the stack the demo left running leaves it as it is
    assert up(story.config).pid == int((story.config.home.pids / "airflow.pid").read_text())


def test_the_final_table_shows_the_gates_holdout_figures(story) -> None:
    """Each version the gate judged shows its holdout metric; a challenger beside the
    champion's, both with their paired bootstrap intervals."""
    from airflow_mlops.local.demo.story import registry_table

    rows = {row["version"]: row for row in registry_table(story.config.mlflow_url)}
    assert rows["1"]["holdout (gate)"].endswith("rows (no champion yet)")
    judged = [r for v, r in rows.items() if v != "1" and r["gate"] in ("accepted", "rejected")]
    assert judged, rows
    for row in judged:
        assert " vs v" in row["holdout (gate)"] and "[" in row["holdout (gate)"], row
