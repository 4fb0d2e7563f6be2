"""The MLOps page in a real browser, showing a REAL pipeline's state.

The session's real run (:mod:`tests.support.real_run`): two CT runs of the demo pipeline (a
champion, then a challenger the gate judged on the common holdout) and a monitoring run on the
drifted batch, behind Airflow's api-server with auth on. Every value the test expects is read
from MLflow or from Airflow's REST API for those runs, never invented; the page must agree.
Saves a screenshot of the page beside the test's files (``scripts/screenshot.py`` makes the
README's from the real demo).
"""

from __future__ import annotations

import re
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.support.real_run import (
    CHROMIUM,
    CHROMIUM_ARGS,
    MODEL,
    MONITORING_ID,
    LinkedRun,
    api_get,
    task_path,
    token,
)

pytestmark = [pytest.mark.e2e, pytest.mark.browser, pytest.mark.integration, pytest.mark.slow]


def test_live_api_refuses_anonymous_requests(linked_run: LinkedRun) -> None:
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(f"{linked_run.airflow_url}/mlops/api/models", timeout=30)
    assert refused.value.code == 401


def test_page_shows_the_real_runs(linked_run: LinkedRun, tmp_path: Path) -> None:
    from mlflow import MlflowClient
    from playwright.sync_api import expect, sync_playwright

    from airflow_mlops.lineage import DATA_COMMIT_TAG, GATE_DECISION_TAG

    base = linked_run.airflow_url
    jwt = token(base)
    client = MlflowClient(linked_run.tracking_uri)
    aliases = client.get_registered_model(MODEL).aliases
    versions = client.search_model_versions(f"name = '{MODEL}'")
    assert len(versions) == 2, [v.version for v in versions]
    champion = client.get_model_version(MODEL, aliases["champion"])
    challenger = max(versions, key=lambda v: int(v.version))
    decision = challenger.tags[GATE_DECISION_TAG]
    verdict = api_get(
        base,
        jwt,
        task_path(MONITORING_ID, linked_run.run_ids[MONITORING_ID], "check_drift")
        + "/xcomEntries/return_value?deserialize=true",
    )["value"]
    assert verdict["drifted_columns"], verdict  # the demo's drifted batch drifts

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        context.add_cookies([{"name": "_token", "value": jwt, "url": base}])
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))

        # Browse > MLOps in Airflow's navigation opens the page in its own tab.
        page.goto(base)
        page.get_by_role("button", name="Browse").click(timeout=60_000)
        with context.expect_page() as opened:
            page.get_by_role("menuitem", name="MLOps").click()
        mlops = opened.value
        assert mlops.url == f"{base}/mlops/"
        mlops.on("pageerror", lambda error: errors.append(str(error)))
        mlops.goto(f"{base}/mlops/?model={MODEL}")

        expect(mlops.get_by_test_id("champion-version")).to_have_text(
            f"version {champion.version}", timeout=60_000
        )
        # the gate's comparison on the common holdout, as the challenger's evaluation wrote it
        first = min(versions, key=lambda v: int(v.version))
        holdout = mlops.get_by_test_id("holdout")
        expect(holdout).to_contain_text(f"champion v{first.version}")
        expect(holdout).to_contain_text(f"challenger v{challenger.version}")
        expect(mlops.get_by_test_id("holdout-decision")).to_have_text(decision)
        expect(mlops.locator("#metric-chart svg circle")).to_have_count(2)
        rows = mlops.locator("#versions tbody tr")
        expect(rows).to_have_count(2)
        row = mlops.locator(f'#versions tbody tr[data-version="{challenger.version}"]')
        expect(row.locator(f"td.decision-{decision}")).to_have_text(decision)
        # data revisions are commit ids, never the branch or tag asked for
        commit = challenger.tags[DATA_COMMIT_TAG]
        assert re.fullmatch(r"[0-9a-f]{40}", commit), commit
        expect(row).to_contain_text(commit[:8])
        # drift: one monitoring run, and its drifted columns marked in the per-column grid
        expect(mlops.locator("#drift-chart svg circle")).to_have_count(1)
        grid = mlops.locator("#drift-columns")
        for column in verdict["drifted_columns"]:
            cell = grid.locator(f'tr[data-column="{column}"] td')
            expect(cell).to_have_attribute("data-state", "drifted")
        stable = set(verdict["tests"]) - set(verdict["drifted_columns"])
        for column in sorted(stable)[:3]:
            cell = grid.locator(f'tr[data-column="{column}"] td')
            expect(cell).to_have_attribute("data-state", "stable")
        # the timeline: every CT run, the skipped and the failed one too, each with its reason
        first, second, repeated, missing = linked_run.ct_run_ids
        timeline = mlops.locator("#ct-runs tbody tr")
        expect(timeline).to_have_count(4)
        expected = {first: "accepted", second: decision, repeated: "skipped", missing: "failed"}
        for run_id, outcome in expected.items():
            row = mlops.locator(f'#ct-runs tr[data-run="{run_id}"]')
            expect(row).to_have_attribute("data-outcome", outcome)
        skipped = mlops.locator(f'#ct-runs tr[data-run="{repeated}"]')
        expect(skipped).to_contain_text(f"already trained as version {challenger.version}")
        failed = mlops.locator(f'#ct-runs tr[data-run="{missing}"]')
        expect(failed).to_contain_text("pull_data failed")
        task_link = failed.get_by_test_id("ct-task-link").get_attribute("href") or ""
        assert task_link.startswith(base) and task_link.endswith("/tasks/pull_data"), task_link
        mlops.screenshot(path=str(tmp_path / "mlops-page.png"), full_page=True)

        # Click through from the champion to its MLflow run.
        mlops.locator("#champion").get_by_test_id("run-link").click()
        mlops.wait_for_url(f"**/runs/{champion.run_id}**", timeout=60_000)
        assert mlops.url.startswith(linked_run.tracking_uri)
        expect(mlops).to_have_title(re.compile(rf"Run {champion.run_id} - MLflow"), timeout=60_000)
        # the failed run's task link opens Airflow's view of that task
        mlops.goto(task_link)
        expect(mlops.get_by_text("pull_data").first).to_be_visible(timeout=60_000)
        assert errors == []
        browser.close()
