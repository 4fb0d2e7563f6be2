"""Regenerate the README's screenshot of the MLOps page from the real demo.

Run after ``make demo`` (which leaves the stack running): logs in as the stack's admin, opens
``/mlops/?model=<model>`` in Debian's Chromium, waits until the page has drawn the champion and
the CT runs, and saves the full page to ``docs/img/mlops-page.png``.

Usage: .venv/bin/python scripts/screenshot.py [--home .airflow-mlops] [--model cancer-mlp]
"""

from __future__ import annotations

import argparse
from pathlib import Path

from airflow_mlops.local.airflow_api import AirflowApi
from airflow_mlops.local.stack import ADMIN_USER, StackConfig, admin_password
from airflow_mlops.settings import MlopsHome

ROOT = Path(__file__).resolve().parents[1]
OUTPUT = ROOT / "docs" / "img" / "mlops-page.png"
CHROMIUM = "/usr/bin/chromium"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", default=".airflow-mlops", help="the stack's home folder")
    parser.add_argument("--airflow-port", type=int, default=8080)
    parser.add_argument("--model", default="cancer-mlp", help="the registered model to show")
    parser.add_argument("--output", type=Path, default=OUTPUT)
    args = parser.parse_args()
    from playwright.sync_api import expect, sync_playwright

    config = StackConfig(
        home=MlopsHome(Path(args.home).resolve()),
        dags_folder=ROOT / "dags",
        airflow_port=args.airflow_port,
    )
    api = AirflowApi.login(config.airflow_url, ADMIN_USER, admin_password(config))
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=["--headless", "--no-sandbox", "--disable-gpu"]
        )
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        context.add_cookies([{"name": "_token", "value": api.token, "url": config.airflow_url}])
        page = context.new_page()
        page.goto(f"{config.airflow_url}/mlops/?model={args.model}")
        expect(page.get_by_test_id("champion-version")).to_be_visible(timeout=60_000)
        expect(page.locator("#ct-runs tbody tr").first).to_be_visible(timeout=60_000)
        page.wait_for_load_state("networkidle")
        args.output.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(args.output), full_page=True)
        browser.close()
    print(f"saved {args.output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
