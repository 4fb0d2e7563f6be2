"""A REAL CT pipeline behind Airflow's own UI, for the browser tests of links and the MLOps page.

:func:`linked_run` runs the demo CT pipeline four times under its own DAG id and model name
(``dag.test()``, local training backend, a real MLflow server and the demo DVC registry): the
first run registers the champion, the second (other params, so another fingerprint) a
challenger that the gate judges on the common holdout, the third repeats the second (its
fingerprint is registered: skipped), the fourth asks for a data revision that does not exist
(fails in ``pull_data``). The monitoring DAG then scores the demo's drifted batch with the
champion. Finally Airflow's api-server starts on the same
metadata database with auth on and one viewer. Nothing is invented: every URL the tests follow
comes from the runs' XCom, every figure on the page from what the runs wrote to MLflow.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run"]
PASSWORD = "links-viewer-pw"
DAG_ID = "links_ct"
MONITORING_ID = "links_monitoring"
MODEL = "links-mlp"
#: a data revision the demo registry does not have
MISSING_REV = "no-such-revision"
#: the demo CT pipeline under this DAG id and model name, local backend, no retries
DAG_FILE = f'''\
"""Written by tests/support/real_run.py."""
import dataclasses

from airflow_mlops.ct.triggers import TriggerPolicy
from airflow_mlops.local.demo.pipeline import demo_pipeline
from airflow_mlops.operators.pipeline import build_ct_dag, build_monitoring_dag

triggers = TriggerPolicy(cron=None, on_new_data=False, on_drift=False, on_performance_drop=False)
config = dataclasses.replace(
    demo_pipeline({DAG_ID!r}, triggers, "links test"),
    model_name={MODEL!r},
    backend="local",
    retries=0,
    retry_delay_s=1,
)
dag = build_ct_dag(config)
monitoring = build_monitoring_dag(config, dag_id={MONITORING_ID!r}, drift={{"drift_share": 0.1}})
'''


@dataclass(frozen=True)
class LinkedRun:
    """The finished runs and the api-server that shows them.

    :param run_ids: DAG id -> run id of the run the tests look at (the challenger's CT run,
        the monitoring run).
    :param ct_run_ids: the CT runs in order: champion, challenger, skipped, failed.
    :param task_states: task id -> state (the challenger's CT run and the monitoring run).
    """

    airflow_url: str
    tracking_uri: str
    run_ids: dict[str, str]
    ct_run_ids: tuple[str, ...]
    task_states: dict[str, str | None]


def require_chromium() -> None:
    """Skip without Debian's Chromium, or fail where the browser tests are required (CI)."""
    if CHROMIUM.exists():
        return
    reason = f"{CHROMIUM} is missing: apt-get install -y chromium"
    if os.environ.get("AIRFLOW_MLOPS_REQUIRE_BROWSER") == "1":
        pytest.fail(reason)
    pytest.skip(reason)


def token(base: str) -> str:
    """The viewer's JWT from the api-server's ``/auth/token``."""
    request = urllib.request.Request(
        f"{base}/auth/token",
        data=json.dumps({"username": "viewer", "password": PASSWORD}).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())["access_token"]


def api_get(base: str, jwt: str, path: str) -> Any:
    """GET ``/api/v2/<path>`` of Airflow's REST API as the viewer; the decoded JSON."""
    request = urllib.request.Request(
        f"{base}/api/v2/{path}", headers={"Authorization": f"Bearer {jwt}"}
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.loads(response.read())


def task_path(dag_id: str, run_id: str, task_id: str) -> str:
    """The REST path of one task instance."""
    return f"dags/{dag_id}/dagRuns/{urllib.parse.quote(run_id, safe='')}/taskInstances/{task_id}"


def linked_run(mlflow_server: str, root: Path) -> Iterator[LinkedRun]:
    """Run the pipelines (module docstring), start the api-server, yield, stop it."""
    from airflow import settings

    from airflow_mlops.local.demo.registry import bootstrap_registry
    from airflow_mlops.local.demo.story import write_batches
    from airflow_mlops.local.services import ServiceSpec, free_port, start_service, stop_service
    from airflow_mlops.settings import MlopsHome

    require_chromium()
    dags = root / "dags"
    dags.mkdir()
    (dags / f"{DAG_ID}.py").write_text(DAG_FILE)
    port = free_port()
    airflow_url = f"http://127.0.0.1:{port}"
    connection = json.dumps({"conn_type": "mlflow", "host": mlflow_server})
    env = {
        "AIRFLOW__CORE__DAGS_FOLDER": str(dags),
        "AIRFLOW__API__BASE_URL": airflow_url,  # the links are computed when each task ends
        "AIRFLOW_CONN_MLFLOW_DEFAULT": connection,
        "MLFLOW_TRACKING_URI": mlflow_server,
    }
    # the runs' environment only while they run: later tests of the session must not see it
    with pytest.MonkeyPatch.context() as patch:
        for key, value in env.items():
            patch.setenv(key, value)
        patch.setattr(settings, "DAGS_FOLDER", str(dags))
        home = MlopsHome.from_env()
        if not home.registry_repo.exists():
            bootstrap_registry(home.registry_repo, home.dvc_remote)
        namespace: dict[str, Any] = {"__file__": str(dags / f"{DAG_ID}.py")}
        exec(compile(DAG_FILE, namespace["__file__"], "exec"), namespace)
        ct, monitoring = namespace["dag"], namespace["monitoring"]
        champion = ct.test(run_conf={"epochs": 3})
        challenger = ct.test(run_conf={"epochs": 6})
        repeated = ct.test(run_conf={"epochs": 6})
        missing = ct.test(run_conf={"data_rev": MISSING_REV})
        batches = write_batches(home.root / "incoming")
        shutil.copy(batches["drifted"], home.root / "incoming" / "batch.csv")
        watch = monitoring.test()
    states = {ti.task_id: ti.state and str(ti.state) for ti in challenger.get_task_instances()}
    states |= {ti.task_id: ti.state and str(ti.state) for ti in watch.get_task_instances()}

    passwords = root / "passwords.json"
    passwords.write_text(json.dumps({"viewer": PASSWORD}))
    airflow = str(Path(sys.executable).with_name("airflow"))
    spec = ServiceSpec(
        name="airflow-api-links",
        argv=[airflow, "api-server", "--host", "127.0.0.1", "--port", str(port), "--workers", "1"],
        port=port,
        health_url=f"{airflow_url}/api/v2/monitor/health",
        env={
            **env,
            "AIRFLOW__CORE__UNIT_TEST_MODE": "False",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "False",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": "viewer:viewer",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(passwords),
            "AIRFLOW__API_AUTH__JWT_SECRET": "links-test-secret-" + "x" * 48,
        },
        startup_timeout_s=180,
    )
    service = start_service(spec, run_dir=root / "run", log_dir=root / "logs")
    try:
        yield LinkedRun(
            airflow_url,
            mlflow_server,
            {DAG_ID: challenger.run_id, MONITORING_ID: watch.run_id},
            (champion.run_id, challenger.run_id, repeated.run_id, missing.run_id),
            states,
        )
    finally:
        stop_service(service.name, root / "run")
