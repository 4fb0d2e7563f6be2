"""Provider info: Airflow 3.3 reads the mlflow connection form from it; it lists our modules."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import airflow
import jsonschema

from airflow_mlops.provider import get_provider_info


def test_provider_info_follows_airflows_schema_and_lists_existing_modules() -> None:
    info = get_provider_info()
    schema = json.loads((Path(airflow.__file__).parent / "provider_info.schema.json").read_text())
    jsonschema.validate(info, schema)

    integrations = {i["integration-name"] for i in info["integrations"]}
    for kind in ("operators", "hooks", "sensors", "triggers"):
        assert info[kind], kind
        for entry in info[kind]:
            assert entry["integration-name"] in integrations
            for module in entry["python-modules"]:
                assert importlib.util.find_spec(module) is not None, module


def test_airflow_shows_a_labelled_mlflow_form_with_a_connection_test() -> None:
    from airflow.providers_manager import ProvidersManager

    manager = ProvidersManager()
    form = manager.field_behaviours["mlflow"]
    assert form["relabeling"]["host"] == "Tracking URI"
    assert form["relabeling"]["password"] == "Token or password"
    assert form["placeholders"]["host"].startswith("http")
    assert "extra" in form["hidden_fields"]
    from airflow.sdk.providers_manager_runtime import ProvidersManagerTaskRuntime

    hook = ProvidersManagerTaskRuntime().hooks["mlflow"]
    assert hook.hook_name == "MLflow" and hook.connection_testable
