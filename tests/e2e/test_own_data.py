"""The own-data tutorial (docs/own-data.md), run as written on two datasets of its own.

Every file the page shows is used here as it is: the registry scripts, the DAG files and the
model package (docs/snippets/own_data/), and the image build command. For each dataset, against
the session's MLflow server and a fresh DVC registry, with ``dag.test()``:

1. CT trains v1 and promotes it;
2. a new version is published, the data-arrival sensor announces it (an asset event), and the
   CT run on that version gives the challenger a gate decision with reasons;
3. an unchanged rerun is skipped by the fingerprint (nothing new registered);
4. a changed model factory (the DAG file edited) retrains;
5. batch scoring with the champion writes predictions (per-class scores, or values).

The wine classifier trains in Docker (the user image from ``airflow-mlops build-image``); the
diabetes regressor trains with the local backend, its data in S3 (moto).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from airflow_mlops.lineage import (
    CHAMPION,
    FINGERPRINT_TAG,
    GATE_DECISION_TAG,
    GATE_REASONS_TAG,
    PARAMS_TAG,
    TRIGGER_TAG,
    lineage_tag,
)
from tests.support.own_data import (
    MIN_HOLDOUT_ROWS,
    OwnDataset,
    diabetes_dataset,
    holdout_rows,
    wine_dataset,
)

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.integration]

SNIPPETS = Path(__file__).resolve().parents[2] / "docs" / "snippets" / "own_data"
#: the model package the page shows (a folder of the pipeline repository)
MODEL_PACKAGE = "tabular_nets"
GIT_SHA_TAG = lineage_tag("git_sha")
#: a few epochs: the test checks the pipeline, not the model's quality
FAST = {"epochs": 4}


def _tool_env() -> dict[str, str]:
    """The environment the page's shell scripts run in: dvc on PATH, a git identity."""
    identity = {
        f"GIT_{role}_{part}": value
        for role in ("AUTHOR", "COMMITTER")
        for part, value in (("NAME", "own-data tutorial"), ("EMAIL", "tutorial@example.invalid"))
    }
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
    return {**os.environ, **identity, "PATH": path, "DVC_NO_ANALYTICS": "1"}


def run_script(name: str, *args: str | Path) -> None:
    """Run one of the page's shell scripts; fail with its output."""
    done = subprocess.run(
        ["bash", str(SNIPPETS / name), *map(str, args)],
        env=_tool_env(),
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, f"{name} failed:\n{done.stdout[-3000:]}{done.stderr[-3000:]}"


def git(repo: Path, *args: str) -> str:
    """Run git in ``repo`` (as the page's user, with an identity); its output."""
    done = subprocess.run(
        ["git", *args], cwd=repo, env=_tool_env(), capture_output=True, text=True, check=True
    )
    return done.stdout.strip()


def head_commit(repo: Path) -> str:
    return git(repo, "rev-parse", "HEAD")


@dataclass
class Tutorial:
    """One dataset's walk through the page: its registry, DAGs folder and model name."""

    dataset: OwnDataset
    registry: Path
    dags_folder: Path
    dag_file: Path
    mlflow_url: str
    model_name: str
    timings: dict[str, float]

    def load(self, path: Path | None = None, name: str = "ct") -> Any:
        """Parse a DAG file of the DAGs folder (as the DAG processor would) and return ``name``."""
        path = path or self.dag_file
        namespace: dict[str, Any] = {"__file__": str(path), "__name__": path.stem}
        exec(compile(path.read_text(), str(path), "exec"), namespace)
        found = namespace[name]
        if hasattr(found, "fileloc"):
            # what Airflow's DagBag records when it parses the file (in the DAG processor and
            # the worker); exec() leaves the frame that called DAG(), the factory's module. The
            # run finds the pipeline repository (model package, git sha) from this file.
            found.fileloc = str(path)
        return found

    def run(
        self, dag: Any, step: str, conf: dict[str, Any] | None = None, *, check: bool = True
    ) -> dict[str, str]:
        """``dag.test()`` once; the task states, the run's time kept under ``step``."""
        started = time.monotonic()
        dag_run = dag.test(run_conf=conf)
        self.timings[step] = round(time.monotonic() - started, 1)
        states = {ti.task_id: str(ti.state) for ti in dag_run.get_task_instances()}
        assert not check or str(dag_run.state) == "success", f"{dag.dag_id} {step}: {states}"
        return states

    def train(self, step: str, conf: dict[str, Any] | None = None) -> dict[str, str]:
        """A CT run of the DAG file as it is now (few epochs)."""
        return self.run(self.load(), step, {**FAST, **(conf or {})})

    def versions(self) -> dict[str, dict[str, str]]:
        from mlflow import MlflowClient

        client = MlflowClient(self.mlflow_url)
        found = client.search_model_versions(f"name='{self.model_name}'")
        return {v.version: dict(v.tags) for v in found}

    def champion(self) -> str | None:
        from mlflow import MlflowClient

        return (
            MlflowClient(self.mlflow_url)
            .get_registered_model(self.model_name)
            .aliases.get(CHAMPION)
        )


@pytest.fixture
def tutorial_env(
    mlflow_server: str, airflow_db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Callable[[OwnDataset, str, str], Tutorial]:
    """``setup(dataset, dag_file_name, registry_env)``: MLflow wired in; a DAGs folder that is
    the pipeline repository of the page (its DAG file and model package); the model
    importable by the worker; the registry's path in the environment variable ``registry_env``
    that the DAG file reads."""
    from airflow import settings

    dags_folder = tmp_path / "dags"
    dags_folder.mkdir()
    monkeypatch.setattr(settings, "DAGS_FOLDER", str(dags_folder))
    monkeypatch.setenv("AIRFLOW__CORE__DAGS_FOLDER", str(dags_folder))
    monkeypatch.setenv("MLFLOW_TRACKING_URI", mlflow_server)
    monkeypatch.setenv(
        "AIRFLOW_CONN_MLFLOW_DEFAULT", json.dumps({"conn_type": "mlflow", "host": mlflow_server})
    )
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "30")
    # the pipeline repository of the page (DAG files and the model package) is the DAGs folder
    shutil.copytree(SNIPPETS / MODEL_PACKAGE, dags_folder / MODEL_PACKAGE)
    # what `pip install ./tabular_nets` on the worker does (the page asks for it): the ONNX
    # export and the scoring rebuild the model there. The local backend's training process
    # gets the package from the config's package_path.
    monkeypatch.syspath_prepend(str(dags_folder / MODEL_PACKAGE))

    def setup(dataset: OwnDataset, dag_file_name: str, registry_env: str) -> Tutorial:
        registry = tmp_path / f"{dataset.name}-registry"
        monkeypatch.setenv(registry_env, str(registry))
        dag_file = dags_folder / dag_file_name
        dag_file.write_text((SNIPPETS / dag_file_name).read_text())
        git(dags_folder, "init", "-q", "-b", "main")
        git(dags_folder, "add", dag_file_name, MODEL_PACKAGE)
        git(dags_folder, "commit", "-q", "-m", "Our CT pipeline")
        tutorial = Tutorial(
            dataset=dataset,
            registry=registry,
            dags_folder=dags_folder,
            dag_file=dag_file,
            mlflow_url=mlflow_server,
            model_name="",
            timings={},
        )
        tutorial.model_name = tutorial.load(name="config").model_name
        return tutorial

    return setup


def announce_new_version(tutorial: Tutorial) -> dict[str, Any]:
    """Run the DAG file's data-arrival DAG once: the extra of the asset event it emitted, which
    must queue a run of the (unpaused) CT DAG, as the scheduler then starts."""
    from airflow.models.asset import AssetDagRunQueue, AssetEvent, AssetModel
    from airflow.models.dag import DagModel
    from airflow.utils.session import create_session
    from sqlalchemy import select, update

    from airflow_mlops.assets import data_asset_uri

    ct_dag_id = tutorial.load(name="config").dag_id
    with create_session() as session:
        unpause = update(DagModel).where(DagModel.dag_id == ct_dag_id).values(is_paused=False)
        session.execute(unpause)
    tutorial.run(tutorial.load(name="arrival"), "data_arrival")
    uri = data_asset_uri(tutorial.dataset.name)
    with create_session() as session:
        asset = session.scalar(select(AssetModel).where(AssetModel.uri == uri))
        events = session.scalars(select(AssetEvent).where(AssetEvent.asset_id == asset.id)).all()
        queued = session.scalars(
            select(AssetDagRunQueue.target_dag_id).where(AssetDagRunQueue.asset_id == asset.id)
        ).all()
    assert events, f"the data-arrival DAG emitted no event on {uri}"
    assert ct_dag_id in queued, f"the event on {uri} queued no run of {ct_dag_id}: {queued}"
    return dict(events[-1].extra)


def score_with_champion(tutorial: Tutorial, batch: Path) -> tuple[dict[str, str], Any]:
    """Run the DAG file's monitoring DAG on ``batch``: its task states and the predictions."""
    import pandas as pd

    from airflow_mlops.settings import MlopsHome

    predictions = MlopsHome.from_env().root
    before = set(predictions.rglob("*.parquet"))
    states = tutorial.run(
        tutorial.load(name="monitoring"), "monitoring", {"input_path": str(batch)}, check=False
    )
    assert states["score_batch"] == "success", states
    written = [
        path
        for path in set(predictions.rglob("*.parquet")) - before
        if "predictions" in path.parts and tutorial.model_name in str(path)
    ]
    assert len(written) == 1, written
    return states, pd.read_parquet(written[0])


def walk_through(tutorial: Tutorial, create_args: list[str | Path]) -> None:
    """The page's steps on one dataset; asserts the registry after each."""
    dataset, registry = tutorial.dataset, tutorial.registry
    config = tutorial.load(name="config")
    v1_csv, v2_csv = dataset.write_versions(registry.parent / f"{dataset.name}-incoming")
    assert holdout_rows(dataset, dataset.v1) >= MIN_HOLDOUT_ROWS

    # 1. the registry with its first version; CT trains v1 and promotes it
    run_script("create_registry.sh", registry, *create_args)
    run_script("add_version.sh", registry, config.dataset.path, v1_csv, "v1")
    states = tutorial.train("ct_v1")
    assert states["train"] == "success"
    versions = tutorial.versions()
    assert list(versions) == ["1"]
    assert tutorial.champion() == "1", versions["1"].get(GATE_REASONS_TAG)
    # the lineage names the commit of the user's pipeline repository, not the library's
    assert versions["1"][GIT_SHA_TAG] == head_commit(tutorial.dags_folder)

    # 2. a new version arrives: the sensor announces it, CT gives the challenger a decision
    run_script("add_version.sh", registry, config.dataset.path, v2_csv, "v2")
    extra = announce_new_version(tutorial)
    assert extra["reason"] == "new_data"
    assert extra["commit"] == head_commit(registry)
    # the queued run as the scheduler would start it: trigger new_data, the event's commit
    # (dag.test() makes a manual run, which carries no asset events: the conf says the same)
    conf = {"trigger": "new_data", "data_rev": extra["commit"]}
    tutorial.train("ct_v2_new_data", conf)
    challenger = tutorial.versions()["2"]
    assert challenger[TRIGGER_TAG] == "new_data"
    assert challenger[GATE_DECISION_TAG] in ("accepted", "rejected"), challenger
    assert challenger[GATE_REASONS_TAG].strip(), challenger

    # 3. the same data, code and params again: skipped, nothing registered
    states = tutorial.train("ct_unchanged")
    assert states["train"] == "skipped", states
    assert len(tutorial.versions()) == 2

    # 4. the DAG file names another model factory: training runs again
    text = tutorial.dag_file.read_text()
    assert text.count("tabular_nets.nets:build_net") == 1
    tutorial.dag_file.write_text(text.replace("nets:build_net", "nets:build_residual_net"))
    git(tutorial.dags_folder, "commit", "-q", "-am", "Train the residual net")
    states = tutorial.train("ct_new_factory")
    assert states["train"] == "success", states
    retrained = tutorial.versions()["3"]
    assert retrained[FINGERPRINT_TAG] != challenger[FINGERPRINT_TAG]
    assert "build_residual_net" in retrained.get(PARAMS_TAG, json.dumps(retrained))
    assert retrained[GIT_SHA_TAG] == head_commit(tutorial.dags_folder)

    # 5. batch scoring with the champion writes predictions
    batch = registry.parent / f"{dataset.name}-batch.csv"
    dataset.scoring_batch().to_csv(batch, index=False)
    states, scored = score_with_champion(tutorial, batch)
    assert len(scored) == len(dataset.scoring_batch())
    assert scored["prediction"].notna().all()
    if dataset.task == "regression":
        assert scored["prediction"].dtype.kind == "f"
    else:
        labels = set(dataset.v2[dataset.label])
        assert set(scored["prediction"]) <= labels
        assert {f"score_{label}" for label in labels} <= set(scored.columns)
    # the drift check compares the batch with the champion's training data
    assert states["check_drift"] == "success", states
    decisions = {v: tags.get(GATE_DECISION_TAG) for v, tags in tutorial.versions().items()}
    print(f"{dataset.name}: gate decisions {decisions}, timings (s) {tutorial.timings}")


@pytest.mark.docker
def test_wine_multiclass_in_docker(tutorial_env, training_image, tmp_path: Path) -> None:
    """Wine: string feature and labels, the model in a user image, a local DVC remote."""
    tutorial = tutorial_env(wine_dataset(), "wine_ct.py", "WINE_REGISTRY")
    config = tutorial.load(name="config")
    # the page's `airflow-mlops build-image`, run in the pipeline repository
    done = subprocess.run(
        [
            *(sys.executable, "-m", "airflow_mlops.local.cli", "build-image"),
            *("--config", "wine_ct:config", "--library-image", training_image.tag),
            *("--tag", config.training_image),
        ],
        cwd=tutorial.dags_folder,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    walk_through(tutorial, [tmp_path / "wine-remote"])


def test_diabetes_regression_local_s3(
    tutorial_env, s3_server: str, moto_aws_connection, tmp_path: Path
) -> None:
    """Diabetes: regression, the local backend, the DVC remote in S3 (moto)."""
    import boto3

    bucket = f"diabetes-{uuid.uuid4().hex[:8]}"
    boto3.client("s3", endpoint_url=s3_server, region_name="us-east-1").create_bucket(Bucket=bucket)
    moto_aws_connection("dvc_s3")
    tutorial = tutorial_env(diabetes_dataset(), "diabetes_ct.py", "DIABETES_REGISTRY")
    walk_through(tutorial, [f"s3://{bucket}/dvcstore", s3_server])
