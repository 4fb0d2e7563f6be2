"""The extra links of a REAL CT run, in Airflow 3.3's task view in Debian's Chromium.

The session's real run (:mod:`tests.support.real_run`: two CT runs of the demo pipeline and a
monitoring run on the drifted batch, then Airflow's api-server with auth on). For each task that
produces something, the test opens the task view (its Details tab, where Airflow 3.3 shows the
buttons), finds the link's button, follows it with the viewer's session and checks the page:
status 200 and a marker of that report's content. Nothing is invented: every URL comes from the
runs' XCom, every report from their artifacts.
"""

from __future__ import annotations

import re
import urllib.parse
from typing import Any

import pytest

from tests.support.real_run import (
    CHROMIUM,
    CHROMIUM_ARGS,
    DAG_ID,
    MODEL,
    MONITORING_ID,
    LinkedRun,
    api_get,
    task_path,
    token,
)

pytestmark = [pytest.mark.e2e, pytest.mark.browser, pytest.mark.integration, pytest.mark.slow]

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


def _links(base: str, jwt: str, dag_id: str, run_id: str, task_id: str) -> dict[str, Any]:
    """What Airflow's REST API answers for the task's extra links (the UI reads the same)."""
    return api_get(base, jwt, task_path(dag_id, run_id, task_id) + "/links")["extra_links"]


def _tasks() -> list[tuple[str, str, str, re.Pattern[str]]]:
    """(dag id, task id, button, marker) of every task whose link the tests follow."""
    return [(DAG_ID, task, *expected) for task, expected in EXPECTED.items()] + [
        (MONITORING_ID, task, *expected) for task, expected in MONITORING.items()
    ]


def test_the_runs_succeeded(linked_run: LinkedRun) -> None:
    for _, task_id, _, _ in _tasks():
        assert linked_run.task_states[task_id] == "success", linked_run.task_states


def test_the_api_server_lists_each_tasks_link(linked_run: LinkedRun) -> None:
    base, jwt = linked_run.airflow_url, token(linked_run.airflow_url)
    for dag_id, task_id, button, _ in _tasks():
        links = _links(base, jwt, dag_id, linked_run.run_ids[dag_id], task_id)
        assert (links.get(button) or "").startswith("http"), (task_id, links)
    pull = _links(base, jwt, DAG_ID, linked_run.run_ids[DAG_ID], "pull_data")
    assert pull == {"Data revision": None}


def test_each_task_view_has_its_link_and_the_link_opens_the_report(linked_run: LinkedRun) -> None:
    from playwright.sync_api import expect, sync_playwright

    base = linked_run.airflow_url
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        context.add_cookies([{"name": "_token", "value": token(base), "url": base}])
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
