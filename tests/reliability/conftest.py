"""Fixtures of the reliability suite.

``ct`` runs whole level-1 CT DAGs in-process (``dag.test()``) against a real MLflow server and a
real DVC registry, one model per test, and reads the registry afterwards, so a test can inject a
fault and assert what happened to the run, the artifacts and the champion.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

#: a DAG file the harness writes: the demo pipeline under another DAG id and model name
_DAG_FILE = '''\
"""Written by the reliability suite: the demo CT pipeline for one test."""
import dataclasses
import json

from airflow_mlops.ct.demo import demo_pipeline
from airflow_mlops.ct.triggers import TriggerPolicy
from airflow_mlops.operators.pipeline import build_ct_dag

OVERRIDES = json.loads({overrides!r})
config = demo_pipeline({dag_id!r}, TriggerPolicy(), "reliability test")
dataset = dataclasses.replace(config.dataset, **OVERRIDES.pop("dataset", {{}}))
dag = build_ct_dag(dataclasses.replace(config, dataset=dataset, **OVERRIDES))
'''


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
        path = self.dags_folder / f"{dag_id}.py"
        path.write_text(_DAG_FILE.format(dag_id=dag_id, overrides=json.dumps(settings)))
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
        from mlflow import MlflowClient
        from mlflow.exceptions import MlflowException

        client = MlflowClient(self.mlflow_url)
        try:
            model = client.get_registered_model(self.model_name)
        except MlflowException:
            return RegistryState()
        versions = client.search_model_versions(f"name='{self.model_name}'")
        return RegistryState(
            versions={v.version: dict(v.tags) for v in versions},
            aliases=dict(model.aliases),
        )


@pytest.fixture(scope="session")
def ct_services(mlflow_server: str, airflow_db: Path) -> str:
    """MLflow, the Airflow DB and the demo registry under ``AIRFLOW_MLOPS_HOME``: MLflow's URL."""
    from airflow_mlops.data.registry import bootstrap_registry
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
