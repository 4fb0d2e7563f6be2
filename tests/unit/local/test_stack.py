"""The local stack's login: one admin, a password generated once and kept in the home."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from airflow_mlops.errors import ServiceError
from airflow_mlops.local.stack import ADMIN_USER, StackConfig, admin_password, airflow_env
from airflow_mlops.settings import MlopsHome


def _config(tmp_path: Path) -> StackConfig:
    return StackConfig(home=MlopsHome(tmp_path / "home"), dags_folder=tmp_path / "dags")


def test_the_password_is_generated_once_and_readable_only_by_its_owner(tmp_path: Path) -> None:
    config = _config(tmp_path)
    password = admin_password(config)
    assert len(password) >= 20 and admin_password(config) == password
    path = config.home.airflow_passwords
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert admin_password(_config(tmp_path)) == password  # kept across restarts
    other = _config(tmp_path / "elsewhere")
    assert admin_password(other) != password


def test_the_stack_logs_in_and_checks_the_host(tmp_path: Path) -> None:
    env = airflow_env(_config(tmp_path))
    assert env["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS"] == "False"
    assert env["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS"] == f"{ADMIN_USER}:admin"
    assert env["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE"].endswith(
        "airflow-passwords.json"
    )
    assert env["AIRFLOW__MLOPS__ALLOWED_HOSTS"] == "127.0.0.1,localhost"


def test_a_damaged_login_file_says_how_to_get_a_new_one(tmp_path: Path) -> None:
    config = _config(tmp_path)
    config.home.root.mkdir(parents=True)
    config.home.airflow_passwords.write_text("{not json")
    with pytest.raises(ServiceError, match=r"Delete .*airflow-passwords\.json"):
        admin_password(config)
