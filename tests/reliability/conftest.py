"""Fixtures of the reliability suite.

``ct`` runs whole level-1 CT DAGs in-process (``dag.test()``) against a real MLflow server and a
real DVC registry, one model per test, and reads the registry afterwards, so a test can inject a
fault and assert what happened to the run, the artifacts and the champion.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

#: a DAG file the harness writes: the demo pipeline under another DAG id and model name
_DAG_FILE = '''\
"""Written by the reliability suite: the demo CT pipeline for one test."""
import dataclasses
import json

from airflow_mlops.local.demo.pipeline import demo_pipeline
from airflow_mlops.ct.triggers import TriggerPolicy
from airflow_mlops.operators.pipeline import build_ct_dag

OVERRIDES = json.loads({overrides!r})
triggers = TriggerPolicy(**OVERRIDES.pop("triggers", {{}}))
config = demo_pipeline({dag_id!r}, triggers, "reliability test")
dataset = dataclasses.replace(config.dataset, **OVERRIDES.pop("dataset", {{}}))
dag = build_ct_dag(dataclasses.replace(config, dataset=dataset, **OVERRIDES))
'''


def write_ct_dag(dags_folder: Path, dag_id: str, overrides: dict[str, Any]) -> Path:
    """Write the demo CT pipeline as ``dag_id`` with ``overrides`` (JSON values; ``dataset``
    and ``triggers`` take dicts of :class:`DatasetSpec` / :class:`TriggerPolicy` fields)."""
    path = dags_folder / f"{dag_id}.py"
    path.write_text(_DAG_FILE.format(dag_id=dag_id, overrides=json.dumps(overrides)))
    return path


@dataclass(frozen=True)
class CTRun:
    """What one ``dag.test()`` run left behind."""

    dag_id: str
    run_id: str
    state: str
    task_states: dict[str, str | None]
    try_numbers: dict[str, int]


@dataclass(frozen=True)
class RegistryState:
    """A registered model's versions (number -> tags) and aliases (alias -> number)."""

    versions: dict[str, dict[str, str]] = field(default_factory=dict)
    aliases: dict[str, str] = field(default_factory=dict)

    @property
    def champion(self) -> str | None:
        return self.aliases.get("champion")


@dataclass
class CTHarness:
    """Builds, runs and inspects CT DAGs for the reliability tests."""

    mlflow_url: str
    dags_folder: Path
    monkeypatch: pytest.MonkeyPatch
    model_name: str
    training: dict[str, Any] = field(default_factory=lambda: {"epochs": 3})

    def dag(self, dag_id: str | None = None, **overrides: Any):
        """The CT DAG of this test's model, written to the DAGs folder and parsed from there.

        ``overrides`` replace fields of the demo's :class:`CTPipelineConfig` (JSON values);
        ``dataset={...}`` replaces fields of its :class:`DatasetSpec` (e.g. another registry).
        """
        dag_id = dag_id or f"ct_{self.model_name}"
        settings = {
            "model_name": self.model_name,
            "backend": "local",
            "retries": 0,
            "retry_delay_s": 1,
            **overrides,
        }
        path = write_ct_dag(self.dags_folder, dag_id, settings)
        namespace: dict[str, Any] = {"__file__": str(path)}
        exec(compile(path.read_text(), str(path), "exec"), namespace)
        return namespace["dag"]

    def run(self, dag=None, conf: dict[str, Any] | None = None) -> CTRun:
        """Run ``dag`` (default: :meth:`dag`) once to the end with ``conf``."""
        dag = dag or self.dag()
        dag_run = dag.test(run_conf={**self.training, **(conf or {})})
        instances = dag_run.get_task_instances()
        return CTRun(
            dag_id=dag.dag_id,
            run_id=dag_run.run_id,
            state=str(dag_run.state),
            task_states={ti.task_id: ti.state and str(ti.state) for ti in instances},
            try_numbers={ti.task_id: ti.try_number for ti in instances},
        )

    def registry(self) -> RegistryState:
        """The registry's view of this test's model (empty when nothing was registered)."""
        return registry_state(self.mlflow_url, self.model_name)


def registry_state(mlflow_url: str, model_name: str) -> RegistryState:
    """The registry's view of ``model_name`` (empty when nothing was registered)."""
    from mlflow import MlflowClient
    from mlflow.exceptions import MlflowException

    client = MlflowClient(mlflow_url)
    try:
        model = client.get_registered_model(model_name)
    except MlflowException:
        return RegistryState()
    versions = client.search_model_versions(f"name='{model_name}'")
    return RegistryState(
        versions={v.version: dict(v.tags) for v in versions},
        aliases=dict(model.aliases),
    )


@pytest.fixture(scope="session")
def ct_services(mlflow_server: str, airflow_db: Path) -> str:
    """MLflow, the Airflow DB and the demo registry under ``AIRFLOW_MLOPS_HOME``: MLflow's URL."""
    from airflow_mlops.local.demo.registry import bootstrap_registry
    from airflow_mlops.settings import MlopsHome

    home = MlopsHome.from_env()
    if not home.registry_repo.exists():
        bootstrap_registry(home.registry_repo, home.dvc_remote)
    return mlflow_server


@pytest.fixture
def ct(
    ct_services: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    request: pytest.FixtureRequest,
) -> CTHarness:
    """A harness for one test: its own model name and DAGs folder, MLflow wired in."""
    from airflow import settings

    dags_folder = tmp_path / "dags"
    dags_folder.mkdir()
    monkeypatch.setattr(settings, "DAGS_FOLDER", str(dags_folder))
    monkeypatch.setenv("AIRFLOW__CORE__DAGS_FOLDER", str(dags_folder))
    monkeypatch.setenv("MLFLOW_TRACKING_URI", ct_services)
    monkeypatch.setenv(
        "AIRFLOW_CONN_MLFLOW_DEFAULT", json.dumps({"conn_type": "mlflow", "host": ct_services})
    )
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "10")
    name = "".join(c if c.isalnum() else "-" for c in request.node.name)[:60].strip("-")
    return CTHarness(
        mlflow_url=ct_services,
        dags_folder=dags_folder,
        monkeypatch=monkeypatch,
        model_name=f"rel-{name}",
    )


# --- scale-out: PostgreSQL, Redis and each Airflow component as its own process -------------

#: runs only when triggered: no nightly run, no asset trigger
MANUAL_ONLY = {"cron": None, "on_new_data": False, "on_drift": False, "on_performance_drop": False}


@dataclass(frozen=True)
class PostgresServer:
    """The session's PostgreSQL server and its migrated Airflow database (a template)."""

    port: int
    template: str
    spec: Any
    state: Path

    def new_database(self, name: str) -> str:
        """A fresh migrated Airflow database (a copy of the template); its SQLAlchemy URL."""
        from tests.support.cluster import create_database, postgres_url

        create_database(self.port, name, template=self.template)
        return postgres_url(self.port, name)

    def restart(self, down_s: float = 3.0) -> dict[int, tuple[int, str]]:
        """Restart the server: a fast shutdown (SIGINT: open transactions roll back, every
        client is disconnected), ``down_s`` seconds down, then the same data on the same port;
        returns the server processes that were stopped."""
        import os
        import signal

        from airflow_mlops.local.services import session_processes, start_service

        pid = int((self.state / "run" / "postgres.pid").read_text())
        stopped = session_processes(pid)
        os.killpg(pid, signal.SIGINT)
        while session_processes(pid):
            time.sleep(0.1)
        time.sleep(down_s)
        start_service(self.spec, self.state / "run", self.state / "logs")
        return stopped


@pytest.fixture(scope="session")
def postgres_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PostgresServer]:
    """A PostgreSQL cluster in a temp dir on a free port, with a migrated Airflow database."""
    import shutil
    import tempfile

    from airflow_mlops.local.services import free_port, start_service, stop_service
    from airflow_mlops.settings import MlopsHome
    from tests.support.cluster import (
        ClusterConfig,
        create_database,
        init_postgres,
        migrate_database,
        postgres_spec,
        postgres_url,
    )

    # not under pytest's 0700 temp root: a root caller runs the server as an unprivileged user
    root = Path(tempfile.mkdtemp(prefix="airflow-mlops-pg-"))
    state = tmp_path_factory.mktemp("postgres")
    port = free_port()
    spec = postgres_spec(init_postgres(root), port)
    start_service(spec, state / "run", state / "logs")
    try:
        create_database(port, "airflow_template")
        migrate_database(
            ClusterConfig(
                home=MlopsHome(state / "home"),
                dags_folder=state / "dags",
                database_url=postgres_url(port, "airflow_template"),
                mlflow_port=free_port(),
                api_port=free_port(),
            )
        )
        yield PostgresServer(port=port, template="airflow_template", spec=spec, state=state)
    finally:
        stop_service("postgres", state / "run")
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Debian's redis-server on a free loopback port; yields its URL (database 0)."""
    from airflow_mlops.local.services import free_port, start_service, stop_service
    from tests.support.cluster import redis_spec

    root = tmp_path_factory.mktemp("redis")
    spec = redis_spec(root / "data", free_port())
    start_service(spec, root / "run", root / "logs")
    yield f"redis://127.0.0.1:{spec.port}/0"
    stop_service("redis", root / "run")


@dataclass(frozen=True)
class ScaleOut:
    """A running cluster: its config, its REST client and its processes (name -> service)."""

    config: Any
    api: Any
    services: dict[str, Any]
    mlflow_url: str
    specs: dict[str, Any] = field(default_factory=dict)

    def registry(self, model_name: str) -> RegistryState:
        return registry_state(self.mlflow_url, model_name)

    def crash_and_restart(self, name: str) -> dict[int, tuple[int, str]]:
        """SIGKILL every process of component ``name``'s session at once (as a crashed host
        or container would lose them), then start it again; returns what was killed."""
        import os
        import signal

        from airflow_mlops.local.services import session_processes

        killed = session_processes(self.services[name].pid)
        for pid in killed:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        while session_processes(self.services[name].pid):
            time.sleep(0.1)
        self._start_again(name)
        return killed

    def _start_again(self, name: str) -> None:
        """Start component ``name`` again after its process died."""
        from airflow_mlops.local.services import start_service, stop_service

        stop_service(name, self.config.home.pids)  # forgets the dead pid
        self.services[name] = start_service(
            self.specs[name], self.config.home.pids, self.config.home.logs
        )

    def restart_failed(self) -> list[str]:
        """What a supervisor's liveness probe does: start again every component whose process
        has exited, and kill and start again every one whose own health URL does not answer
        200 (a scheduler that lost its database stops its loop but stays up); their names."""
        import urllib.error
        import urllib.request

        from airflow_mlops.local.services import session_processes

        restarted = []
        for name, service in list(self.services.items()):
            spec = self.specs[name]
            if not session_processes(service.pid):
                self._start_again(name)
            elif spec.port and spec.health_url.startswith("http"):
                try:
                    with urllib.request.urlopen(spec.health_url, timeout=5) as answer:
                        if answer.status == 200:
                            continue
                except (urllib.error.URLError, OSError):
                    pass
                self.crash_and_restart(name)
            else:
                continue
            restarted.append(name)
        return restarted

    def log(self, name: str) -> Path:
        return self.config.home.logs / f"{name}.log"


@pytest.fixture(scope="module")
def start_cluster(
    postgres_server: PostgresServer,
    mlflow_server: str,
    demo_registry_template: Any,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Any]:
    """``start_cluster(name, dags, executor=..., workers=..., env=...)`` starts an Airflow on
    PostgreSQL (api-server, scheduler, DAG processor; with ``broker_url`` also a triggerer and
    ``workers`` Celery workers; ``triggerer=True`` adds a triggerer without them; ``mlflow_url``
    replaces the session's MLflow server) whose DAGs folder holds one demo CT DAG per entry of
    ``dags`` (dag_id -> config overrides; local training backend, manual triggers only, the
    session's demo registry). Everything stops when the module ends."""
    from airflow_mlops.local.airflow_api import AirflowApi
    from airflow_mlops.local.services import free_port
    from airflow_mlops.settings import MlopsHome
    from tests.support.cluster import (
        ClusterConfig,
        api_server_spec,
        celery_worker_spec,
        dag_processor_spec,
        running,
        scheduler_spec,
        triggerer_spec,
    )

    stack = contextlib.ExitStack()

    def start(
        name: str,
        dags: dict[str, dict[str, Any]],
        *,
        executor: str = "LocalExecutor",
        broker_url: str | None = None,
        workers: int = 0,
        triggerer: bool = False,
        mlflow_url: str | None = None,
        env: dict[str, str] | None = None,
    ) -> ScaleOut:
        root = tmp_path_factory.mktemp(name)
        dags_folder = root / "dags"
        dags_folder.mkdir()
        for dag_id, overrides in dags.items():
            settings = {
                "backend": "local",
                "triggers": MANUAL_ONLY,
                "dataset": {"registry": str(demo_registry_template.repo)},
                **overrides,
            }
            write_ct_dag(dags_folder, dag_id, settings)
        config = ClusterConfig(
            home=MlopsHome(root / "home"),
            dags_folder=dags_folder,
            database_url=postgres_server.new_database(name),
            mlflow_port=int((mlflow_url or mlflow_server).rsplit(":", 1)[1]),
            api_port=free_port(),
            executor=executor,
            broker_url=broker_url,
            # the DAG files never change: parse them once, not every 30 s
            env={"AIRFLOW__DAG_PROCESSOR__MIN_FILE_PROCESS_INTERVAL": "3600", **(env or {})},
        )
        specs = [api_server_spec(config), scheduler_spec(config, free_port(), free_port())]
        specs.append(dag_processor_spec(config))
        if broker_url or triggerer:
            specs.append(triggerer_spec(config, free_port()))
        if broker_url:
            specs += [
                celery_worker_spec(config, f"worker-{index}", free_port())
                for index in range(1, workers + 1)
            ]
        services = stack.enter_context(running(specs, config.home))
        api = AirflowApi(config.api_url)
        api.wait_for_dags(set(dags))
        return ScaleOut(
            config=config,
            api=api,
            services=services,
            mlflow_url=mlflow_url or mlflow_server,
            specs={spec.name: spec for spec in specs},
        )

    with stack:
        yield start
