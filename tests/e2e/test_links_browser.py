"""The extra links of a REAL CT run, in Airflow 3.3's task view in Debian's Chromium.

One module fixture runs the demo CT pipeline once (``dag.test()``, local training backend,
a real MLflow server and the demo DVC registry) and its monitoring DAG once on the demo's
drifted batch, then starts Airflow's api-server on the same metadata database with auth on.
For each task that produces something, the test opens the task view (its Details tab, where
Airflow 3.3 shows the buttons), finds the link's button, follows it with the viewer's session
and checks the page: status 200 and a marker of that report's content. Nothing is invented:
every URL comes from the runs' XCom, every report from their artifacts.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sys
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.browser, pytest.mark.integration, pytest.mark.slow]

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run"]
PASSWORD = "links-viewer-pw"
DAG_ID = "links_ct"
MONITORING_ID = "links_monitoring"
MODEL = "links-mlp"
#: the demo CT pipeline under this test's DAG id and model name, local backend, no retries
DAG_FILE = f'''\
"""Written by tests/e2e/test_links_browser.py."""
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
#: task id -> (button, a marker of the page it opens)
EXPECTED = {
    "validate_data": ("Data docs", re.compile("expect|Expectation", re.IGNORECASE)),
    "train": ("Training output", re.compile("metrics.json")),
    "export_onnx": ("ONNX parity report", re.compile(r"\"parity\": {[^}]*\"max_abs\"")),
    "register_model": ("MLflow model version", re.compile("MLflow")),
    "evaluate_and_promote": ("Evaluation report", re.compile(f"# Evaluation of {MODEL}")),
}
#: the same for the monitoring run that scores a drifted batch with the new champion
MONITORING = {
    "score_batch": ("Inference log", re.compile(r"Inference log .*\d+ rows", re.DOTALL)),
    "check_drift": ("Drift report", re.compile("Dataset Drift|Drifted Columns")),
}


@dataclass(frozen=True)
class LinkedRun:
    """The finished CT run and the api-server that shows it."""

    airflow_url: str
    run_ids: dict[str, str]
    task_states: dict[str, str | None]


def _require_chromium() -> None:
    if CHROMIUM.exists():
        return
    reason = f"{CHROMIUM} is missing: apt-get install -y chromium"
    if os.environ.get("AIRFLOW_MLOPS_REQUIRE_BROWSER") == "1":
        pytest.fail(reason)
    pytest.skip(reason)


@pytest.fixture(scope="module")
def linked_run(
    mlflow_server: str, airflow_db: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LinkedRun]:
    from airflow import settings

    from airflow_mlops.local.demo.registry import bootstrap_registry
    from airflow_mlops.local.demo.story import write_batches
    from airflow_mlops.local.services import ServiceSpec, free_port, start_service, stop_service
    from airflow_mlops.settings import MlopsHome

    _require_chromium()
    root = tmp_path_factory.mktemp("links")
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
    patch = pytest.MonkeyPatch()
    for key, value in env.items():
        patch.setenv(key, value)
    patch.setattr(settings, "DAGS_FOLDER", str(dags))
    home = MlopsHome.from_env()
    if not home.registry_repo.exists():
        bootstrap_registry(home.registry_repo, home.dvc_remote)
    namespace: dict[str, object] = {"__file__": str(dags / f"{DAG_ID}.py")}
    exec(compile(DAG_FILE, namespace["__file__"], "exec"), namespace)
    dag_run = namespace["dag"].test(run_conf={"epochs": 3})  # type: ignore[attr-defined]
    states = {ti.task_id: ti.state and str(ti.state) for ti in dag_run.get_task_instances()}
    batches = write_batches(home.root / "incoming")
    shutil.copy(batches["drifted"], home.root / "incoming" / "batch.csv")
    watch = namespace["monitoring"].test()  # type: ignore[attr-defined]
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
        yield LinkedRun(airflow_url, {DAG_ID: dag_run.run_id, MONITORING_ID: watch.run_id}, states)
    finally:
        stop_service(service.name, root / "run")
        patch.undo()


def _token(base: str) -> str:
    request = urllib.request.Request(
        f"{base}/auth/token",
        data=json.dumps({"username": "viewer", "password": PASSWORD}).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())["access_token"]


def _links(base: str, token: str, dag_id: str, run_id: str, task_id: str) -> dict[str, Any]:
    """What Airflow's REST API answers for the task's extra links (the UI reads the same)."""
    run = urllib.parse.quote(run_id, safe="")
    url = f"{base}/api/v2/dags/{dag_id}/dagRuns/{run}/taskInstances/{task_id}/links"
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.loads(response.read())["extra_links"]


def _tasks() -> list[tuple[str, str, str, re.Pattern[str]]]:
    """(dag id, task id, button, marker) of every task whose link the tests follow."""
    return [(DAG_ID, task, *expected) for task, expected in EXPECTED.items()] + [
        (MONITORING_ID, task, *expected) for task, expected in MONITORING.items()
    ]


def test_the_runs_succeeded(linked_run: LinkedRun) -> None:
    for _, task_id, _, _ in _tasks():
        assert linked_run.task_states[task_id] == "success", linked_run.task_states


def test_the_api_server_lists_each_tasks_link(linked_run: LinkedRun) -> None:
    base, token = linked_run.airflow_url, _token(linked_run.airflow_url)
    for dag_id, task_id, button, _ in _tasks():
        links = _links(base, token, dag_id, linked_run.run_ids[dag_id], task_id)
        assert (links.get(button) or "").startswith("http"), (task_id, links)
    pull = _links(base, token, DAG_ID, linked_run.run_ids[DAG_ID], "pull_data")
    assert pull == {"Data revision": None}


def test_each_task_view_has_its_link_and_the_link_opens_the_report(linked_run: LinkedRun) -> None:
    from playwright.sync_api import expect, sync_playwright

    base = linked_run.airflow_url
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        context.add_cookies([{"name": "_token", "value": _token(base), "url": base}])
        page = context.new_page()
        for dag_id, task_id, button, marker in _tasks():
            run_id = urllib.parse.quote(linked_run.run_ids[dag_id], safe="")
            page.goto(f"{base}/dags/{dag_id}/runs/{run_id}/tasks/{task_id}/details")
            link = page.get_by_role("link", name=button)
            expect(link).to_be_visible(timeout=60_000)
            href = link.get_attribute("href") or ""
            assert href.startswith(("http://", "https://")), (task_id, href)
            report = context.new_page()
            answer = report.goto(href)
            assert answer is not None and answer.status == 200, (task_id, href)
            if "/mlops/reports/" in href:  # the report as served (scripts may redraw it)
                assert marker.search(answer.text()), (task_id, href)
            else:  # the MLflow UI renders in the browser: its title names it
                expect(report).to_have_title(marker, timeout=60_000)
            report.close()
        # The pull of a local registry has no web page of its revision: no button, no dead link.
        run_id = urllib.parse.quote(linked_run.run_ids[DAG_ID], safe="")
        page.goto(f"{base}/dags/{DAG_ID}/runs/{run_id}/tasks/pull_data/details")
        page.wait_for_load_state("networkidle")
        assert page.get_by_role("link", name="Data revision").count() == 0
        browser.close()
