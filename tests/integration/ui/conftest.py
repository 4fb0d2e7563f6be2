"""Fixtures for the UI tests: a seeded MLflow registry and Airflow's real API app with auth on."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from tests.integration.ui.registry_seed import SeededRegistry, seed

SIMPLE_AUTH_MANAGER = (
    "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager"
)


@pytest.fixture(scope="session")
def seeded_registry(mlflow_server: str) -> SeededRegistry:
    return seed(mlflow_server)


@pytest.fixture(scope="module")
def airflow_app(airflow_db, seeded_registry: SeededRegistry) -> Iterator[object]:
    """Airflow's own FastAPI app (plugins mounted as the api-server mounts them), auth on.

    One version per answer, so the seeded history of three versions takes three pages.
    """
    from airflow.api_fastapi.app import create_app, purge_cached_app

    from airflow_mlops.hooks.mlflow import MlflowHook

    patch = pytest.MonkeyPatch()
    patch.setenv("AIRFLOW__CORE__AUTH_MANAGER", SIMPLE_AUTH_MANAGER)
    patch.setenv("AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS", "False")
    patch.setenv("AIRFLOW__MLOPS__UI_VERSIONS_PER_PAGE", "1")
    connection = {"conn_type": "mlflow", "host": seeded_registry.tracking_uri}
    patch.setenv(f"AIRFLOW_CONN_{MlflowHook.default_conn_name.upper()}", json.dumps(connection))
    purge_cached_app()
    yield create_app()
    purge_cached_app()
    patch.undo()


def token_for(role: str | None) -> str:
    """A JWT the running auth manager accepts, for a simple-auth-manager user with ``role``."""
    from airflow.api_fastapi.app import get_auth_manager
    from airflow.api_fastapi.auth.managers.simple.user import SimpleAuthManagerUser

    return get_auth_manager().generate_jwt(SimpleAuthManagerUser(username="tester", role=role))
