"""The MLOps page in a real browser: Airflow's api-server with the plugin, Debian's Chromium.

Auth is on (simple auth manager, no all-admins): the browser carries a JWT from ``/auth/token``
as the UI's ``_token`` cookie. Saves the screenshot used in README and docs/ui.md.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.ui.registry_seed import HOSTILE, MODEL, SeededRegistry, seed

pytestmark = [pytest.mark.e2e, pytest.mark.browser, pytest.mark.integration, pytest.mark.slow]

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "img" / "mlops-page.png"
PASSWORD = "mlops-viewer-pw"


def _require_chromium() -> None:
    if CHROMIUM.exists():
        return
    reason = f"{CHROMIUM} is missing: apt-get install -y chromium chromium-driver"
    if os.environ.get("AIRFLOW_MLOPS_REQUIRE_BROWSER") == "1":
        pytest.fail(reason)
    pytest.skip(reason)


@pytest.fixture(scope="module")
def seeded(mlflow_server: str) -> SeededRegistry:
    return seed(mlflow_server, model=MODEL)


@pytest.fixture(scope="module")
def airflow_url(seeded: SeededRegistry, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Airflow's api-server (UI + plugins) on a free port, in its own home, auth on."""
    from airflow_mlops.local.services import ServiceSpec, free_port, start_service, stop_service

    _require_chromium()
    root = tmp_path_factory.mktemp("airflow-ui")
    passwords = root / "passwords.json"
    passwords.write_text(json.dumps({"viewer": PASSWORD}))
    port = free_port()
    env = {
        "AIRFLOW_HOME": str(root / "home"),
        "AIRFLOW__CORE__DAGS_FOLDER": str(root / "dags"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "False",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": "viewer:viewer",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(passwords),
        "AIRFLOW__API_AUTH__JWT_SECRET": "browser-test-secret-" + "x" * 48,
        "AIRFLOW__API__BASE_URL": f"http://127.0.0.1:{port}",
        # one version per answer: the page reads the three versions in three pages
        "AIRFLOW__MLOPS__UI_VERSIONS_PER_PAGE": "1",
        "AIRFLOW_CONN_MLFLOW_DEFAULT": json.dumps(
            {"conn_type": "mlflow", "host": seeded.tracking_uri}
        ),
    }
    env.pop("AIRFLOW__CORE__UNIT_TEST_MODE", None)
    airflow = str(Path(sys.executable).with_name("airflow"))
    subprocess.run(
        [airflow, "db", "migrate"], env={**os.environ, **env}, check=True, capture_output=True
    )
    spec = ServiceSpec(
        name="airflow-api",
        argv=[airflow, "api-server", "--host", "127.0.0.1", "--port", str(port), "--workers", "1"],
        port=port,
        health_url=f"http://127.0.0.1:{port}/api/v2/monitor/health",
        env={**env, "AIRFLOW__CORE__UNIT_TEST_MODE": "False"},
        startup_timeout_s=180,
    )
    service = start_service(spec, run_dir=root / "run", log_dir=root / "logs")
    yield f"http://127.0.0.1:{port}"
    stop_service(service.name, root / "run")


def _token(base: str) -> str:
    request = urllib.request.Request(
        f"{base}/auth/token",
        data=json.dumps({"username": "viewer", "password": PASSWORD}).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())["access_token"]


def test_live_api_refuses_anonymous_requests(airflow_url: str) -> None:
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(f"{airflow_url}/mlops/api/models", timeout=30)
    assert refused.value.code == 401


def test_page_shows_champion_chart_and_links_to_the_run(
    airflow_url: str, seeded: SeededRegistry
) -> None:
    from playwright.sync_api import expect, sync_playwright

    token = _token(airflow_url)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        context.add_cookies([{"name": "_token", "value": token, "url": airflow_url}])
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))

        # Browse > MLOps in Airflow's navigation opens the page in its own tab.
        page.goto(airflow_url)
        page.get_by_role("button", name="Browse").click(timeout=60_000)
        with context.expect_page() as opened:
            page.get_by_role("menuitem", name="MLOps").click()
        mlops = opened.value
        assert mlops.url == f"{airflow_url}/mlops/"
        mlops.on("pageerror", lambda error: errors.append(str(error)))
        expect(mlops.get_by_test_id("champion-version")).to_have_text("version 2", timeout=60_000)
        expect(mlops.get_by_test_id("challenger-version")).to_have_text("version 3")
        expect(mlops.locator("#metric-chart svg circle")).to_have_count(3)
        expect(mlops.locator('#metric-chart circle.champion[data-point="2"]')).to_have_count(1)
        expect(mlops.locator("#drift-chart svg circle")).to_have_count(3)
        expect(mlops.locator("#versions tbody tr")).to_have_count(3)
        # A hostile gate reason is shown as text and never runs.
        expect(mlops.locator("#challenger")).to_contain_text(HOSTILE)
        assert mlops.evaluate("window.__mlops_xss") is None
        SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
        mlops.screenshot(path=str(SCREENSHOT), full_page=True)

        # Click through from the champion to its MLflow run.
        mlops.locator("#champion").get_by_test_id("run-link").click()
        mlops.wait_for_url(f"**/runs/{seeded.run_ids['2']}**", timeout=60_000)
        assert mlops.url.startswith(seeded.tracking_uri)
        run_title = re.compile(rf"Run {seeded.run_ids['2']} - MLflow")
        expect(mlops).to_have_title(run_title, timeout=60_000)
        assert errors == []
        browser.close()
