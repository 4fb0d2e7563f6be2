"""``airflow-mlops demo``: the continuous-training story on the embedded demo data.

It starts the real local stack (Airflow standalone with the scheduler, triggerer and DAG
processor, plus the MLflow server) and drives it through the Airflow REST API, so every step
below is a real DAG run that stays visible in the UI afterwards:

1. level 2 builds the training image, runs the pipeline tests in it with pytest, deploys it and
   starts CT: v1 becomes champion;
2. new data (v2) lands on ``main``: the data-arrival sensor emits an asset event, CT runs and
   the challenger is promoted or rejected with reasons;
3. monitoring scores a drifted batch, finds drift, and its asset event starts retraining;
4. an unchanged rerun skips training (fingerprint cache);
5. a corrupt delivery is stopped by validation; the champion stays where it was.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from airflow_mlops.cicd import TEST
from airflow_mlops.errors import ServiceError
from airflow_mlops.lineage import DATA_REV_TAG, GATE_DECISION_TAG, REPORT_TAG, TRIGGER_TAG
from airflow_mlops.local.airflow_api import FINISHED, AirflowApi
from airflow_mlops.local.demo.pipeline import BACKEND_ENV, MODEL_NAME
from airflow_mlops.local.stack import (
    ADMIN_USER,
    StackConfig,
    admin_password,
    api_client,
    down,
    up,
)

CT_DAG = "mlops_level1_ct"
#: how long one step may wait for its runs (the e2e test's whole story has 900 s)
STEP_TIMEOUT_S = 420.0
#: seconds after pausing a DAG for a run the scheduler was creating to show up
PAUSE_SETTLE_S = 3.0
DAG_IDS = {"mlops_level0_manual", CT_DAG, "mlops_level2_cicd", "mlops_monitoring",
           "mlops_data_arrival"}  # fmt: skip


@dataclass
class StepResult:
    """What one step of the story did: the runs it waited for and how long it took."""

    title: str
    runs: list[dict[str, Any]] = field(default_factory=list)
    seconds: float = 0.0
    champion: str | None = None
    #: what the step's checks reported (level 2: the pipeline tests run in the image)
    checks: list[dict[str, Any]] = field(default_factory=list)

    def states(self, dag_id: str) -> list[str]:
        return [run["state"] for run in self.runs if run["dag_id"] == dag_id]


@dataclass
class Story:
    """The API of the running stack and the results of the steps so far."""

    config: StackConfig
    api: AirflowApi
    steps: list[StepResult] = field(default_factory=list)

    def step(self, title: str, action: Callable[[StepResult], None]) -> StepResult:
        print(f"\n==> {title}", flush=True)
        result = StepResult(title)
        started = time.monotonic()
        action(result)
        result.seconds = round(time.monotonic() - started, 1)
        from airflow_mlops.model_registry.client import alias_version

        result.champion = alias_version(self.config.mlflow_url, MODEL_NAME, "champion")
        for run in result.runs:
            print(f"    {run['dag_id']}: {run['state']} ({run['run_type']}, "
                  f"{run['dag_run_id']})", flush=True)  # fmt: skip
        print(f"    champion: v{result.champion}; done in {result.seconds:.0f} s", flush=True)
        self.steps.append(result)
        return result

    def run_dag(self, result: StepResult, dag_id: str, conf: dict | None = None) -> dict:
        """Trigger a run of ``dag_id`` and wait for it."""
        run = self.api.wait_for_run(dag_id, self.api.trigger(dag_id, conf))
        result.runs.append(run)
        return run

    def first_run_after_unpause(self, result: StepResult, dag_id: str) -> dict:
        """Unpause ``dag_id``, wait for the run its schedule starts at once (catchup=False runs
        the latest scheduled interval), as its nightly run would, and pause it again.

        An unpause just after a schedule boundary starts a second catch-up run: the scheduler
        computed the next run when it parsed the DAG, an interval earlier. A second sensor run
        would wait for the data of the next step, so the story deletes it.
        """
        known = self.run_ids(dag_id)
        self.api.set_paused(dag_id, False)
        first = self.api.wait_for_new_run(dag_id, known)
        first = self.api.wait_for_run(dag_id, first["dag_run_id"], timeout_s=STEP_TIMEOUT_S)
        self.api.set_paused(dag_id, True)
        time.sleep(PAUSE_SETTLE_S)  # a run the scheduler was creating as we paused shows up
        result.runs.append(first)
        for extra in self.api.new_runs(dag_id, known | {first["dag_run_id"]}):
            if extra["state"] in FINISHED:
                result.runs.append(extra)
                continue
            self.api.delete_run(dag_id, extra["dag_run_id"])
            print(f"    {dag_id}: deleted the extra catch-up run {extra['dag_run_id']}", flush=True)
        return first

    def wait_new_runs(
        self,
        result: StepResult,
        dag_id: str,
        known: set[str],
        expect: frozenset[str] = frozenset(),
        settle_s: float = 8.0,
    ) -> list[dict]:
        """Wait until ``dag_id`` has new runs, of each run type in ``expect`` among them, all
        finished, then ``settle_s`` more seconds without another new run (queued events start
        one more run). Fails after ``STEP_TIMEOUT_S`` with what is still running."""
        self.api.wait_for_new_run(dag_id, known)
        deadline = time.monotonic() + STEP_TIMEOUT_S
        quiet_since = None
        while time.monotonic() < deadline:
            fresh = self.api.new_runs(dag_id, known)
            if not expect <= {r["run_type"] for r in fresh} or any(
                r["state"] not in FINISHED for r in fresh
            ):
                quiet_since = None
            elif quiet_since is None:
                quiet_since = time.monotonic()
            elif time.monotonic() - quiet_since > settle_s:
                result.runs.extend(fresh)
                return fresh
            time.sleep(2)
        raise ServiceError(
            f"The runs of {dag_id} did not all finish within {STEP_TIMEOUT_S:.0f} s "
            f"(expected run types {sorted(expect)}): {self.describe(dag_id, fresh)}",
            hint=f"Task logs are under {self.config.home.airflow_home / 'logs'}.",
        )

    def describe(self, dag_id: str, runs: list[dict]) -> str:
        """``run_id (run_type): state [task=state, ...]`` for each run."""
        return "; ".join(
            f"{run['dag_run_id']} ({run['run_type']}): {run['state']} "
            f"{self.api.task_states(dag_id, run['dag_run_id'])}"
            for run in runs
        )

    def run_ids(self, dag_id: str) -> set[str]:
        return {r["dag_run_id"] for r in self.api.runs(dag_id)}


def docker_backend(repo: Path) -> str:
    """``docker`` when an engine answers and the training image has a base (as root on Debian
    the demo starts the engine, or builds the local base where no registry is reachable, with
    ``scripts/ensure-docker.sh``), else ``local``."""
    engine = shutil.which("docker") is not None and _docker_ok()
    missing = _missing_base() if engine else "no Docker engine is reachable"
    if missing is None:
        return "docker"
    script = repo / "scripts" / "ensure-docker.sh"
    if os.geteuid() == 0 and Path("/etc/debian_version").exists() and script.exists():
        doing = "building the local base image" if engine else "starting one"
        print(f"    {missing}: {doing} (scripts/ensure-docker.sh)", flush=True)
        if subprocess.run(["bash", str(script)], check=False).returncode == 0 and _docker_ok():
            missing = _missing_base()
            if missing is None:
                return "docker"
    print(f"    NOTE: {missing}; training runs in a local subprocess (backend=local). "
          "Start Docker (and `make docker-base` where no registry is reachable) to train in "
          "the container.", flush=True)  # fmt: skip
    return "local"


def _docker_ok() -> bool:
    done = subprocess.run(["docker", "info"], capture_output=True, check=False)
    return done.returncode == 0


def _missing_base() -> str | None:
    """Why the training image has no base on this engine (the level-2 build's own choice,
    :func:`~airflow_mlops.cicd.choose_base_image`), or None when it has one."""
    from airflow_mlops.cicd import choose_base_image

    try:
        choose_base_image(None)
    except ServiceError as error:
        return error.message.rstrip(".")
    return None


def write_batches(incoming: Path) -> dict[str, Path]:
    """The batches monitoring scores: a normal one and one whose features drifted."""
    from airflow_mlops.local.demo import dataset as demo

    incoming.mkdir(parents=True, exist_ok=True)
    full = demo.breast_cancer_frame()
    paths = {"normal": incoming / "normal.csv", "drifted": incoming / "drifted.csv"}
    full.sample(n=300, random_state=3).to_csv(paths["normal"], index=False)
    demo.with_drift(full.sample(n=300, random_state=2)).to_csv(paths["drifted"], index=False)
    return paths


def run_story(config: StackConfig) -> Story:
    """Run the five steps against the running stack; returns what happened.

    Each scheduled DAG is unpaused at its step, so that its first scheduled run happens then;
    the sensor and monitoring DAGs are paused again after that run, so that each step sees
    only the runs it started.
    """
    from airflow_mlops.local.demo.registry import publish_version

    home = config.home
    story = Story(config, api_client(config))
    story.api.wait_for_dags(DAG_IDS)
    batches = write_batches(home.root / "incoming")

    def level2(result: StepResult) -> None:
        story.api.set_paused("mlops_level2_cicd", False)
        known = story.run_ids(CT_DAG)
        run = story.run_dag(result, "mlops_level2_cicd")
        tested = story.api.xcom("mlops_level2_cicd", run["dag_run_id"], TEST)
        result.checks = tested["checks"]
        print(f"    pipeline tests (pytest in {tested['image'] or 'the worker'}): "
              + ", ".join(f"{c['name']} {'passed' if c['passed'] else 'FAILED'}"
                          for c in result.checks), flush=True)  # fmt: skip
        # unpaused, the CT DAG runs the run level 2 triggered (and from now on its triggers);
        # it has no start date, so no catch-up run for last night's tick starts beside it
        story.api.set_paused(CT_DAG, False)
        story.wait_new_runs(result, CT_DAG, known, expect=frozenset({"operator_triggered"}))

    def new_data(result: StepResult) -> None:
        publish_version(home.registry_repo, "v2")
        known = story.run_ids(CT_DAG)
        # paused again after its run: its next half-hourly run would announce the drift data
        story.first_run_after_unpause(result, "mlops_data_arrival")
        story.wait_new_runs(result, CT_DAG, known, expect=frozenset({"asset_triggered"}))

    def drift(result: StepResult) -> None:
        publish_version(home.registry_repo, "v3-drift")
        shutil.copy(batches["drifted"], home.root / "incoming" / "batch.csv")
        known = story.run_ids(CT_DAG)
        run = story.first_run_after_unpause(result, "mlops_monitoring")
        verdict = story.api.xcom("mlops_monitoring", run["dag_run_id"], "check_drift")
        print(f"    drift share {verdict['drift_share']:.0%}, drifted "
              f"{verdict['drifted_columns']}, reason: {verdict['reason']}", flush=True)  # fmt: skip
        if not verdict["reason"]:
            raise ServiceError(
                "Monitoring found no reason to retrain on the drifted batch.",
                hint="See the drift report: " + str(verdict.get("report_uri")),
            )
        story.wait_new_runs(result, CT_DAG, known, expect=frozenset({"asset_triggered"}))

    def rerun(result: StepResult) -> None:
        story.run_dag(result, CT_DAG, {"trigger": "manual"})

    def corrupt(result: StepResult) -> None:
        story.run_dag(result, CT_DAG, {"data_rev": "v4-corrupt"})

    story.step("Level 2: build and test the training image, deploy it, run CT on v1", level2)
    story.step("New data: v2 lands on main -> sensor -> asset event -> CT", new_data)
    story.step("Monitoring: a drifted batch -> drift detected -> retraining", drift)
    story.step("Unchanged rerun: same data, image and params -> training skipped", rerun)
    story.step("Corrupt delivery v4-corrupt -> validation stops the run", corrupt)
    return story


def holdout_figure(evaluation: dict[str, Any] | None) -> str:
    """The gate's holdout metric of a version, from its ``evaluation.json``: both models with
    their paired bootstrap intervals, or the first version's own figure (no champion yet)."""
    from airflow_mlops.dashboard.rows import holdout_comparison
    from airflow_mlops.model_registry.gate import DEFAULT_METRIC

    def interval(figure: dict[str, float]) -> str:
        return f"{figure['value']:.3f} [{figure['low']:.3f}, {figure['high']:.3f}]"

    comparison = holdout_comparison(evaluation)
    if comparison:
        return (
            f"{comparison['metric']} {interval(comparison['challenger'])} vs "
            f"v{comparison['champion_version']} {interval(comparison['champion'])}, "
            f"{comparison['rows']} rows"
        )
    challenger = (evaluation or {}).get("challenger") or {}
    metric = ((evaluation or {}).get("gate") or {}).get("metric") or DEFAULT_METRIC.get(
        challenger.get("task", ""), ""
    )
    value = (challenger.get("metrics") or {}).get(metric)
    if value is None:
        return "-"
    return f"{metric} {value:.3f}, {challenger.get('rows')} rows (no champion yet)"


def registry_table(tracking_uri: str) -> list[dict[str, str]]:
    """One row per model version: metrics, aliases, data revision, trigger, gate decision and
    the gate's holdout figures (:func:`holdout_figure`)."""
    from airflow_mlops.dashboard import reads
    from airflow_mlops.mlflow_rest import MlflowRest
    from airflow_mlops.model_registry.client import mlflow_client

    client = mlflow_client(tracking_uri)
    rest = MlflowRest(tracking_uri)
    aliases: dict[str, list[str]] = {}
    for alias, number in client.get_registered_model(MODEL_NAME).aliases.items():
        aliases.setdefault(str(number), []).append(alias)
    rows = []
    for version in sorted(client.search_model_versions(f"name='{MODEL_NAME}'"),
                          key=lambda v: int(v.version)):  # fmt: skip
        tags = version.tags or {}
        run = client.get_run(version.run_id) if version.run_id else None
        metrics = run.data.metrics if run else {}
        rows.append({
            "version": version.version,
            "aliases": ",".join(sorted(aliases.get(str(version.version), []))) or "-",
            "val_accuracy": f"{metrics['val_accuracy']:.3f}" if "val_accuracy" in metrics else "-",
            "data_rev": tags.get(DATA_REV_TAG, "-")[:12],
            "trigger": tags.get(TRIGGER_TAG, "-"),
            "gate": tags.get(GATE_DECISION_TAG, "-"),
            "holdout (gate)": holdout_figure(reads.evaluation(rest, tags.get(REPORT_TAG))),
        })  # fmt: skip
    return rows


def print_table(rows: list[dict[str, str]]) -> None:
    if not rows:
        print("(no model versions)")
        return
    widths = {key: max(len(key), *(len(row[key]) for row in rows)) for key in rows[0]}
    print("  ".join(key.ljust(width) for key, width in widths.items()))
    for row in rows:
        print("  ".join(row[key].ljust(width) for key, width in widths.items()))


def run_demo(config: StackConfig, *, keep_running: bool = True) -> int:
    """Bootstrap, start the stack, run the story, print the table and where to look."""
    from airflow_mlops.local.demo.registry import bootstrap_registry

    started = time.monotonic()
    repo = config.dags_folder.parent
    print("==> Preflight: Docker engine", flush=True)
    os.environ[BACKEND_ENV] = docker_backend(repo)
    print("\n==> Bootstrap the DVC data registry (v1 on main; v2, v3-drift, v4-corrupt tagged)")
    home = config.home
    bootstrap_registry(home.registry_repo, home.dvc_remote, force=True)
    print(f"\n==> Start Airflow on {config.airflow_url} and MLflow on {config.mlflow_url}")
    down(config)
    shutil.rmtree(home.airflow_home, ignore_errors=True)
    shutil.rmtree(home.mlflow_dir, ignore_errors=True)
    up(config)
    try:
        story = run_story(config)
    finally:
        if not keep_running:
            down(config)
    print(f"\nDemo finished in {time.monotonic() - started:.0f} s "
          f"(training backend: {os.environ[BACKEND_ENV]}).\n")  # fmt: skip
    print_table(registry_table(config.mlflow_url))
    for step in story.steps:
        states = ", ".join(f"{r['dag_id']}={r['state']}" for r in step.runs)
        print(f"  {step.seconds:6.0f} s  {step.title}: {states}")
    print(f"\n  Airflow UI:  {config.airflow_url}")
    print(f"  Login:       {ADMIN_USER} / {admin_password(config)}   "
          f"(kept in {home.airflow_passwords})")  # fmt: skip
    print(f"  MLOps page:  {config.airflow_url}/mlops/   (Airflow menu: Browse > MLOps)")
    print(f"  MLflow UI:   {config.mlflow_url}")
    print(f"  Reports:     {home.artifacts}")
    print("  Stop everything with `.venv/bin/airflow-mlops down`.")
    return 0
