"""The plugin object Airflow loads: its app mount, navigation entry, macros and links."""

from __future__ import annotations

import subprocess
import sys

from airflow_mlops.plugins.links import EXTRA_LINKS
from airflow_mlops.plugins.plugin import LazyApp, MlopsPlugin


def test_plugin_declares_app_view_macros_and_links() -> None:
    assert MlopsPlugin.name == "airflow_mlops"
    (app,) = MlopsPlugin.fastapi_apps
    assert app["url_prefix"] == "/mlops" and isinstance(app["app"], LazyApp)
    (view,) = MlopsPlugin.external_views
    assert view["href"] == "/mlops/" and "url_route" not in view
    assert {m.__name__ for m in MlopsPlugin.macros} >= {"champion_version", "challenger_version"}
    names = {link.name for link in MlopsPlugin.operator_extra_links}
    assert names >= {"MLflow run", "MLflow model version", "Data docs", "Drift report"}
    assert len(names) == len(EXTRA_LINKS)


def test_loading_the_plugin_does_not_import_the_api_or_mlflow() -> None:
    script = (
        "import sys\n"
        "import airflow_mlops.plugins.plugin\n"
        "print(sorted(m for m in ('mlflow', 'airflow_mlops.plugins.api',"
        " 'airflow.api_fastapi.core_api.security') if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert out.stdout.strip().splitlines()[-1] == "[]"


def test_champion_uri_needs_no_server() -> None:
    from airflow_mlops.plugins.macros import champion_uri

    assert champion_uri("churn") == "models:/churn@champion"
