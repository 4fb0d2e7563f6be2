"""The scale-out cluster's settings: one JWT secret, the execution API, the broker, workers."""

from __future__ import annotations

from pathlib import Path

from airflow_mlops.settings import MlopsHome
from tests.support.cluster import (
    WORKER_NAME_ENV,
    ClusterConfig,
    api_server_spec,
    celery_worker_spec,
    cluster_env,
    postgres_url,
    scheduler_spec,
    worker_hostname,
)


def _config(tmp_path: Path, **kwargs) -> ClusterConfig:
    return ClusterConfig(
        home=MlopsHome(tmp_path),
        dags_folder=tmp_path / "dags",
        database_url=postgres_url(5999, "airflow"),
        mlflow_port=5001,
        api_port=8999,
        **kwargs,
    )


def test_every_component_shares_the_database_the_secret_and_the_execution_api(tmp_path):
    config = _config(tmp_path)
    specs = [api_server_spec(config), scheduler_spec(config, 9001, 9002)]
    specs.append(celery_worker_spec(config, "worker-1", 9003))
    for key in (
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN",
        "AIRFLOW__API_AUTH__JWT_SECRET",
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL",
    ):
        assert len({spec.env[key] for spec in specs}) == 1, key
    env = specs[0].env
    assert env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"] == "http://127.0.0.1:8999/execution/"
    assert env["AIRFLOW__CORE__UNIT_TEST_MODE"] == "False"
    assert _config(tmp_path).jwt_secret != config.jwt_secret  # random per cluster


def test_celery_result_backend_keeps_the_psycopg2_driver(tmp_path):
    config = _config(tmp_path, executor="CeleryExecutor", broker_url="redis://127.0.0.1:1/0")
    env = cluster_env(config)
    assert env["AIRFLOW__CELERY__BROKER_URL"] == "redis://127.0.0.1:1/0"
    # a bare postgresql:// would pick whichever driver SQLAlchemy defaults to (psycopg 3)
    backend = env["AIRFLOW__CELERY__RESULT_BACKEND"]
    assert backend == "db+postgresql+psycopg2://airflow@127.0.0.1:5999/airflow"


def test_workers_on_one_machine_get_their_own_name_and_log_port(tmp_path, monkeypatch):
    config = _config(tmp_path, executor="CeleryExecutor", broker_url="redis://127.0.0.1:1/0")
    one, two = (celery_worker_spec(config, f"worker-{n}", 9100 + n) for n in (1, 2))
    assert one.env[WORKER_NAME_ENV] != two.env[WORKER_NAME_ENV]
    ports = {spec.env["AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT"] for spec in (one, two)}
    assert ports == {"9101", "9102"}
    assert one.health_url == "http://127.0.0.1:9101/"
    monkeypatch.setenv(WORKER_NAME_ENV, "worker-1")
    assert worker_hostname() == "worker-1"
    callable_path = one.env["AIRFLOW__CORE__HOSTNAME_CALLABLE"]
    assert callable_path == "tests.support.cluster.worker_hostname"
