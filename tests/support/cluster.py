"""A scale-out Airflow on one machine: PostgreSQL, Redis and each Airflow component as its own
process on loopback ports.

The production layout in miniature (metadata database on PostgreSQL, LocalExecutor or
CeleryExecutor with a Redis broker, a separate scheduler, DAG processor, api-server, triggerer
and workers); the reliability tests run CT pipelines on it. Each piece is a
:class:`~airflow_mlops.local.services.ServiceSpec` started by :func:`~airflow_mlops.local.services.
start_service`, like the local stack.
"""

from __future__ import annotations

import contextlib
import glob
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from airflow_mlops.errors import ServiceError
from airflow_mlops.local.services import RunningService, ServiceSpec, start_service, stop_service
from airflow_mlops.local.stack import StackConfig, airflow_cli, airflow_env
from airflow_mlops.settings import MlopsHome

#: the name Airflow records as a task's hostname when set (several workers on one machine)
WORKER_NAME_ENV = "AIRFLOW_MLOPS_WORKER_NAME"
#: PostgreSQL refuses to run as root; a root caller runs it as this user
UNPRIVILEGED_USER = "nobody"
DB_USER = "airflow"


def worker_hostname() -> str:
    """``[core] hostname_callable`` of the cluster: ``$AIRFLOW_MLOPS_WORKER_NAME``, else the
    FQDN (tasks of two workers on one machine record different hostnames)."""
    return os.environ.get(WORKER_NAME_ENV) or socket.getfqdn()


def postgres_binary(name: str) -> str:
    """A PostgreSQL server binary (``initdb``, ``postgres``): on PATH, else Debian's
    ``/usr/lib/postgresql/<version>/bin`` (newest version).

    :raises ServiceError: PostgreSQL's server binaries are not installed.
    """
    found = shutil.which(name)
    if found:
        return found
    versions = sorted(
        glob.glob(f"/usr/lib/postgresql/*/bin/{name}"),
        key=lambda path: int(Path(path).parts[-3]) if Path(path).parts[-3].isdigit() else 0,
    )
    if versions:
        return versions[-1]
    raise ServiceError(
        f"PostgreSQL's {name!r} was found neither on PATH nor under /usr/lib/postgresql.",
        hint="Install the server: `apt-get install postgresql` on Debian.",
    )


def _as_postgres_user(argv: list[str], owned: Path) -> list[str]:
    """``argv`` run as an unprivileged user when this process is root (PostgreSQL refuses
    root); ``owned`` is handed to that user."""
    if os.geteuid() != 0:
        return argv
    shutil.chown(owned, UNPRIVILEGED_USER)
    for path in owned.rglob("*"):
        shutil.chown(path, UNPRIVILEGED_USER)
    return ["runuser", "-u", UNPRIVILEGED_USER, "--", *argv]


def init_postgres(root: Path) -> Path:
    """Create a PostgreSQL cluster under ``root`` (trust auth for user ``airflow`` on loopback
    and the socket in ``root``); returns its data directory.

    ``root`` must be traversable by the server's user (``tempfile.mkdtemp`` under /tmp is).
    """
    root.mkdir(parents=True, exist_ok=True)
    data = root / "data"
    argv = [postgres_binary("initdb"), "-D", str(data), "-U", DB_USER, "--auth=trust"]
    argv += ["-E", "UTF8", "--no-sync", "--no-instructions"]
    result = subprocess.run(
        _as_postgres_user(argv, root), capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        raise ServiceError(
            f"initdb failed with exit code {result.returncode}:\n{result.stderr[-2000:]}",
            hint=f"Check that {root} is writable by the server's user.",
        )
    return data


def postgres_spec(data_dir: Path, port: int) -> ServiceSpec:
    """The server of the cluster in ``data_dir`` on ``127.0.0.1:port``; durability is off
    (fsync, synchronous commit): a test database, never production settings."""
    argv = [postgres_binary("postgres"), "-D", str(data_dir), "-p", str(port)]
    argv += ["-h", "127.0.0.1", "-k", str(data_dir.parent), "-c", "max_connections=300"]
    for setting in ("fsync=off", "synchronous_commit=off", "full_page_writes=off"):
        argv += ["-c", setting]
    return ServiceSpec(
        name="postgres",
        argv=_as_postgres_user(argv, data_dir.parent),
        port=port,
        health_url=f"tcp://127.0.0.1:{port}",
        startup_timeout_s=60.0,
    )


def postgres_url(port: int, database: str, driver: str = "postgresql+psycopg2") -> str:
    """The SQLAlchemy URL of ``database`` on the local server."""
    return f"{driver}://{DB_USER}@127.0.0.1:{port}/{database}"


def create_database(port: int, name: str, template: str | None = None, timeout_s: float = 30):
    """``CREATE DATABASE name [TEMPLATE template]``, retried while the server starts up.

    A template copy of a migrated Airflow database takes a fraction of a second, a migration
    many seconds.
    """
    import psycopg2

    deadline = time.monotonic() + timeout_s
    while True:
        try:
            connection = psycopg2.connect(
                host="127.0.0.1", port=port, user=DB_USER, dbname="postgres"
            )
            break
        except psycopg2.OperationalError:  # "the database system is starting up"
            if time.monotonic() > deadline:
                raise
            time.sleep(0.3)
    try:
        connection.autocommit = True
        with connection.cursor() as cursor:
            suffix = f' TEMPLATE "{template}"' if template else ""
            cursor.execute(f'CREATE DATABASE "{name}"{suffix}')
    finally:
        connection.close()


def redis_spec(data_dir: Path, port: int) -> ServiceSpec:
    """``redis-server`` on ``127.0.0.1:port``, its files in ``data_dir``, no persistence."""
    data_dir.mkdir(parents=True, exist_ok=True)
    server = shutil.which("redis-server") or "/usr/bin/redis-server"
    argv = [server, "--port", str(port), "--bind", "127.0.0.1", "--dir", str(data_dir)]
    argv += ["--save", "", "--appendonly", "no"]
    return ServiceSpec(
        name="redis",
        argv=argv,
        port=port,
        health_url=f"tcp://127.0.0.1:{port}",
        startup_timeout_s=30.0,
    )


@dataclass(frozen=True)
class ClusterConfig:
    """One Airflow deployment on this machine.

    :param home: the MlopsHome (Airflow home, artifacts, DVC cache and workspaces).
    :param dags_folder: the DAGs folder every component reads.
    :param database_url: SQLAlchemy URL of the metadata database (PostgreSQL).
    :param mlflow_port: port of the MLflow tracking server on 127.0.0.1.
    :param api_port: port of the api-server (REST API, UI and the tasks' execution API).
    :param executor: ``LocalExecutor`` or ``CeleryExecutor``.
    :param broker_url: the Celery broker (``redis://127.0.0.1:<port>/0``).
    :param env: more Airflow settings (``AIRFLOW__SECTION__KEY``) for every component.
    """

    home: MlopsHome
    dags_folder: Path
    database_url: str
    mlflow_port: int
    api_port: int
    executor: str = "LocalExecutor"
    broker_url: str | None = None
    env: dict[str, str] = field(default_factory=dict)
    jwt_secret: str = field(default_factory=lambda: secrets.token_urlsafe(32))

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"

    @property
    def stack(self) -> StackConfig:
        return StackConfig(
            home=self.home,
            dags_folder=self.dags_folder,
            airflow_port=self.api_port,
            mlflow_port=self.mlflow_port,
        )


def cluster_env(config: ClusterConfig) -> dict[str, str]:
    """Environment of every component: the stack's plus the database, executor, broker, the
    execution API URL and one JWT secret shared by all components."""
    env = {
        **airflow_env(config.stack),
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": config.database_url,
        "AIRFLOW__CORE__EXECUTOR": config.executor,
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{config.api_url}/execution/",
        "AIRFLOW__CORE__HOSTNAME_CALLABLE": f"{__name__}.worker_hostname",
        # the repository root, so that every component imports this module as tests.support
        "PYTHONPATH": os.pathsep.join(
            filter(None, [str(Path(__file__).resolve().parents[2]), os.environ.get("PYTHONPATH")])
        ),
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
        "AIRFLOW__API_AUTH__JWT_SECRET": config.jwt_secret,
        # a throwaway test cluster: its REST client calls without a login
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True",
    }
    if config.broker_url:
        env["AIRFLOW__CELERY__BROKER_URL"] = config.broker_url
        env["AIRFLOW__CELERY__RESULT_BACKEND"] = f"db+{config.database_url}"
    return {**env, **config.env}


def _airflow(
    config: ClusterConfig, name: str, args: list[str], port: int, health_url: str, **env: str
) -> ServiceSpec:
    return ServiceSpec(
        name=name,
        argv=[str(Path(sys.executable).with_name("airflow")), *args],
        port=port,
        health_url=health_url,
        env={**cluster_env(config), **env},
        startup_timeout_s=240.0,
    )


def migrate_database(config: ClusterConfig) -> None:
    """``airflow db migrate`` against the cluster's database.

    :raises ServiceError: the migration failed (its output tail is in the message).
    """
    airflow_cli(config.stack, "db", "migrate", env=cluster_env(config))


def api_server_spec(config: ClusterConfig) -> ServiceSpec:
    """The api-server (UI, REST API and the execution API that tasks talk to), one worker."""
    args = ["api-server", "--host", "127.0.0.1", "--port", str(config.api_port), "--workers", "1"]
    health = f"{config.api_url}/api/v2/monitor/health"
    return _airflow(config, "api-server", args, config.api_port, health)


def scheduler_spec(config: ClusterConfig, health_port: int, log_port: int) -> ServiceSpec:
    """The scheduler; it answers on its health-check port once its loop runs. With the
    LocalExecutor it also serves the task logs, on ``log_port``."""
    return _airflow(
        config,
        "scheduler",
        ["scheduler"],
        health_port,
        f"http://127.0.0.1:{health_port}/health",
        AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK="True",
        AIRFLOW__SCHEDULER__SCHEDULER_HEALTH_CHECK_SERVER_PORT=str(health_port),
        AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT=str(log_port),
    )


def dag_processor_spec(config: ClusterConfig) -> ServiceSpec:
    """The DAG processor. It listens on no port (0): it counts as started once the api-server
    answers; :meth:`~airflow_mlops.local.airflow_api.AirflowApi.wait_for_dags` tells whether it
    parses."""
    health = f"{config.api_url}/api/v2/monitor/health"
    return _airflow(config, "dag-processor", ["dag-processor"], 0, health)


def triggerer_spec(config: ClusterConfig, log_port: int) -> ServiceSpec:
    """The triggerer; healthy once its log server answers on ``log_port``."""
    return _airflow(
        config,
        "triggerer",
        ["triggerer"],
        log_port,
        f"http://127.0.0.1:{log_port}/",
        AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT=str(log_port),
    )


def celery_worker_spec(
    config: ClusterConfig, name: str, log_port: int, concurrency: int = 2
) -> ServiceSpec:
    """A Celery worker named ``name`` (also the hostname its tasks record); its log server on
    ``log_port`` (each worker on one machine needs its own)."""
    args = ["celery", "worker", "--celery-hostname", f"{name}@%h"]
    args += ["--concurrency", str(concurrency), "--without-mingle", "--without-gossip"]
    return _airflow(
        config,
        name,
        args,
        log_port,
        f"http://127.0.0.1:{log_port}/",
        AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT=str(log_port),
        **{WORKER_NAME_ENV: name},
    )


@contextlib.contextmanager
def running(specs: Sequence[ServiceSpec], home: MlopsHome) -> Iterator[dict[str, RunningService]]:
    """Start every spec at once (each waits for its own health URL); stop them all at the end,
    also when one of them failed to start.

    :raises ServiceError: a service did not start (the first failure, with its log tail).
    """
    try:
        with ThreadPoolExecutor(max_workers=len(specs)) as pool:
            futures = [pool.submit(start_service, spec, home.pids, home.logs) for spec in specs]
        yield {future.result().name: future.result() for future in futures}
    finally:
        for spec in reversed(specs):
            stop_service(spec.name, home.pids)
