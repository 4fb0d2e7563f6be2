"""The local stack: Airflow standalone and the MLflow server, sharing one home directory."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from airflow_mlops.errors import ServiceError
from airflow_mlops.local.airflow_api import AirflowApi
from airflow_mlops.local.services import (
    RunningService,
    airflow_standalone_spec,
    log_tail,
    mlflow_server_spec,
    port_in_use,
    start_service,
    stop_service,
)
from airflow_mlops.settings import HOME_ENV, MlopsHome

SERVICES = ("airflow", "mlflow")
#: the local stack's one Airflow user, an admin; its password is generated once per home
ADMIN_USER = "admin"
#: the Host headers the local stack's api-server answers (a page on another name that resolves
#: to this machine, DNS rebinding, gets a 400)
LOCAL_HOSTS = ("127.0.0.1", "localhost")
#: seconds the scheduler sleeps after a loop that found nothing to do
SCHEDULER_IDLE_SLEEP_S = 0.2


@dataclass(frozen=True)
class StackConfig:
    """Ports and folders of the local stack."""

    home: MlopsHome
    dags_folder: Path
    airflow_port: int = 8080
    mlflow_port: int = 5000

    @property
    def mlflow_url(self) -> str:
        return f"http://127.0.0.1:{self.mlflow_port}"

    @property
    def airflow_url(self) -> str:
        return f"http://127.0.0.1:{self.airflow_port}"


def airflow_env(config: StackConfig) -> dict[str, str]:
    """Environment for every Airflow process of the stack (CLI, standalone, ``dags test``)."""
    return {
        HOME_ENV: str(config.home.root),
        "AIRFLOW_HOME": str(config.home.airflow_home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(config.dags_folder),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__UNIT_TEST_MODE": "False",  # a real stack, also when tests start it
        # one admin, its password generated once and kept in the home (admin_password)
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "False",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{ADMIN_USER}:admin",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(config.home.airflow_passwords),
        "AIRFLOW__MLOPS__ALLOWED_HOSTS": ",".join(LOCAL_HOSTS),
        "AIRFLOW__API__BASE_URL": config.airflow_url,
        # the next task of a run starts up to 1 s sooner (Airflow's default idle sleep: 1 s)
        "AIRFLOW__SCHEDULER__SCHEDULER_IDLE_SLEEP_TIME": str(SCHEDULER_IDLE_SLEEP_S),
        "MLFLOW_TRACKING_URI": config.mlflow_url,
        "AIRFLOW_CONN_MLFLOW_DEFAULT": json.dumps(
            {"conn_type": "mlflow", "host": config.mlflow_url}
        ),
        "DVC_NO_ANALYTICS": "1",
        # MLflow retries an unreachable server for minutes by default: fail fast and let
        # Airflow's task retries (with their delay) take over
        "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "2",
        "MLFLOW_HTTP_REQUEST_TIMEOUT": "60",
    }


def admin_password(config: StackConfig) -> str:
    """The admin's password: read from the home, or generated and kept there (mode 0600)."""
    path = config.home.airflow_passwords
    if path.is_file():
        try:
            return json.loads(path.read_text())[ADMIN_USER]
        except (ValueError, KeyError, TypeError) as error:
            raise ServiceError(
                f"The Airflow login file {path} is not {{{ADMIN_USER!r}: password}}: {error}.",
                hint=f"Delete {path}; `airflow-mlops up` generates a new password.",
            ) from error
    password = secrets.token_urlsafe(18)
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as file:
        json.dump({ADMIN_USER: password}, file)
    return password


def api_client(config: StackConfig) -> AirflowApi:
    """A client of the stack's REST API, logged in as the admin."""
    return AirflowApi.login(config.airflow_url, ADMIN_USER, admin_password(config))


def airflow_cli(config: StackConfig, *args: str, env: dict[str, str] | None = None) -> str:
    """Run ``airflow <args>`` against the stack's home; returns its output.

    :param env: the Airflow environment; default :func:`airflow_env` of ``config``.

    :raises ServiceError: it failed; the message ends with the tail of its output.
    """
    airflow = str(Path(sys.executable).with_name("airflow"))
    result = subprocess.run(
        [airflow, *args],
        env={**os.environ, **(env or airflow_env(config))},
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        tail = "\n".join((result.stdout + result.stderr).splitlines()[-30:])
        raise ServiceError(
            f"`airflow {' '.join(args)}` failed with exit code {result.returncode}:\n{tail}",
            hint=f"Task logs are under {config.home.airflow_home / 'logs'}.",
        )
    return result.stdout


def ensure_mlflow(config: StackConfig) -> str:
    """Start the MLflow server unless it already answers; returns its URL."""
    if (config.home.pids / "mlflow.pid").exists() and port_in_use(config.mlflow_port):
        return config.mlflow_url
    start_service(
        mlflow_server_spec(config.home.mlflow_dir, config.mlflow_port),
        run_dir=config.home.pids,
        log_dir=config.home.logs,
    )
    return config.mlflow_url


def up(config: StackConfig) -> RunningService:
    """Start MLflow, migrate the Airflow DB and start Airflow standalone; a stack that already
    runs (``make demo`` leaves it running) is left as it is."""
    pid_file = config.home.pids / "airflow.pid"
    if pid_file.exists() and port_in_use(config.airflow_port):
        ensure_mlflow(config)
        return RunningService(
            "airflow",
            int(pid_file.read_text()),
            config.airflow_url,
            config.home.logs / "airflow.log",
        )
    ensure_mlflow(config)
    admin_password(config)
    airflow_cli(config, "db", "migrate")
    spec = airflow_standalone_spec(
        config.home.airflow_home,
        config.dags_folder,
        config.airflow_port,
        env={k: v for k, v in airflow_env(config).items() if k != "AIRFLOW_HOME"},
    )
    try:
        airflow = start_service(spec, run_dir=config.home.pids, log_dir=config.home.logs)
    except ServiceError:
        stop_service("mlflow", config.home.pids)
        raise
    return airflow


def down(config: StackConfig) -> dict[str, bool]:
    """Stop every service of the stack; returns which ones were running."""
    return {name: stop_service(name, config.home.pids) for name in SERVICES}


def status(config: StackConfig) -> dict[str, str]:
    """``running (url)``, ``stopped`` or ``stale`` for each service."""
    ports = {"airflow": config.airflow_port, "mlflow": config.mlflow_port}
    report = {}
    for name in SERVICES:
        recorded = (config.home.pids / f"{name}.pid").exists()
        listening = port_in_use(ports[name])
        if recorded and listening:
            report[name] = f"running (http://127.0.0.1:{ports[name]})"
        elif recorded:
            report[name] = "stale: recorded but not answering; log tail:\n" + log_tail(
                config.home.logs / f"{name}.log", 10
            )
        else:
            report[name] = "stopped"
    return report
