"""Pipeline tests for your own DAGs, as a pytest plugin (entry point ``pytest11``).

Installed with airflow-mlops, it gives any project these fixtures and checks::

    def test_my_dags(mlops_dagbag):
        assert mlops_dagbag.import_errors == {}
        assert dag_problems(mlops_dagbag) == []

    def test_parsing_stays_light(mlops_dags_folder):
        assert heavy_imports_when_parsing(mlops_dags_folder) == []

The DAGs folder is the ini option ``mlops_dags_folder`` (default ``dags``).

The pipeline's own tests run against your pipeline config and a sample of your data::

    pytest --mlops-config my_pipeline.config:CONFIG --mlops-data tests/sample.parquet

(or the ini keys ``mlops_config`` and ``mlops_data``): preprocessing round trip, the model's
forward shape, loss falls, a few records overfit, no NaN or infinity, every artifact written,
ONNX parity. The checks live in :mod:`airflow_mlops.training.selftest`; the ``test_pipeline_*``
functions below only expose them, and are added to the run when a config is given.
``--mlops-params JSON`` gives TrainingConfig fields instead of (or over) a config, which is how
level 2 runs exactly these tests with pytest inside the built image before CT may use it
(:func:`airflow_mlops.cicd.pipeline_tests_command`); ``--mlops-output DIR`` keeps the smoke
checkpoint and the ONNX export there.
Nothing here imports Airflow or torch until a fixture is used.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

#: libraries a DAG file must not import while it is parsed
HEAVY_MODULES = (
    "torch", "mlflow", "great_expectations", "evidently", "dvc", "onnxruntime", "sklearn",
)  # fmt: skip


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addini("mlops_dags_folder", "the DAGs folder the mlops fixtures check", default="dags")
    group = parser.getgroup("mlops", "airflow-mlops pipeline tests")
    group.addoption("--mlops-config", help="the pipeline's CTPipelineConfig, 'pkg.module:NAME'")
    group.addoption("--mlops-data", help="a CSV or Parquet sample of the pipeline's data")
    group.addoption("--mlops-params", help="TrainingConfig fields as JSON, over the config's")
    group.addoption("--mlops-output", help="where the checks' trainings and export go")
    group.addoption("--mlops-rows", type=int, default=256, help="rows the checks use")
    parser.addini("mlops_config", "the pipeline's CTPipelineConfig, 'pkg.module:NAME'")
    parser.addini("mlops_data", "a CSV or Parquet sample of the pipeline's data")


def _setting(config: pytest.Config, name: str) -> str | None:
    """``--mlops-<name>``, else the ini key ``mlops_<name>``."""
    return config.getoption(f"mlops_{name}") or config.getini(f"mlops_{name}") or None


def pytest_configure(config: pytest.Config) -> None:
    """With a pipeline config or params, the run includes this module's ``test_pipeline_*``
    tests."""
    wanted = _setting(config, "config") or config.getoption("mlops_params")
    if wanted and __file__ not in config.args:
        config.args.append(__file__)


@pytest.fixture(scope="session")
def mlops_pipeline_checks(
    pytestconfig: pytest.Config, tmp_path_factory: pytest.TempPathFactory
) -> Any:
    """The :class:`~airflow_mlops.training.selftest.PipelineChecks` of the configured pipeline
    on its data sample (trainings and export shared by the tests)."""
    from airflow_mlops.training.selftest import PipelineChecks, load_object, training_params_of

    path, data = _setting(pytestconfig, "config"), _setting(pytestconfig, "data")
    overrides = pytestconfig.getoption("mlops_params")
    if not (path or overrides) or not data:
        pytest.fail(
            "The pipeline tests need --mlops-config pkg.module:CONFIG and --mlops-data SAMPLE "
            "(or the ini keys mlops_config and mlops_data).",
            pytrace=False,
        )
    try:
        params = training_params_of(load_object(path)) if path else {}
    except Exception as error:  # a config that does not import: say what to install or fix
        pytest.fail(f"--mlops-config {path}: {error}", pytrace=False)
    try:
        params.update(json.loads(overrides) if overrides else {})
    except (ValueError, TypeError) as error:
        pytest.fail(f"--mlops-params is not a JSON object of TrainingConfig fields: {error}",
                    pytrace=False)  # fmt: skip
    rows = pytestconfig.getoption("mlops_rows")
    output = pytestconfig.getoption("mlops_output")
    workdir = Path(output) if output else tmp_path_factory.mktemp("mlops-pipeline")
    return PipelineChecks.from_files(pytestconfig.rootpath / data, params, workdir, rows)


def test_pipeline_preprocessing_round_trip(mlops_pipeline_checks: Any) -> None:
    mlops_pipeline_checks.preprocessing_round_trip()


def test_pipeline_forward_shape(mlops_pipeline_checks: Any) -> None:
    mlops_pipeline_checks.forward_shape()


def test_pipeline_loss_falls(mlops_pipeline_checks: Any) -> None:
    mlops_pipeline_checks.loss_falls()


def test_pipeline_overfits_a_few_records(mlops_pipeline_checks: Any) -> None:
    mlops_pipeline_checks.overfits_a_few_records()


def test_pipeline_finite(mlops_pipeline_checks: Any) -> None:
    mlops_pipeline_checks.finite()


def test_pipeline_writes_artifacts(mlops_pipeline_checks: Any) -> None:
    mlops_pipeline_checks.writes_artifacts()


def test_pipeline_onnx_parity(mlops_pipeline_checks: Any) -> None:
    mlops_pipeline_checks.onnx_parity()


@pytest.fixture(scope="session")
def mlops_dags_folder(pytestconfig: pytest.Config) -> Path:
    """The DAGs folder named by the ``mlops_dags_folder`` ini option, from the rootdir."""
    return (pytestconfig.rootpath / pytestconfig.getini("mlops_dags_folder")).resolve()


@pytest.fixture(scope="session")
def mlops_dagbag(mlops_dags_folder: Path) -> Any:
    """Every DAG of the folder, parsed as the DAG processor does (no database needed)."""
    return parse_dags(mlops_dags_folder)


def parse_dags(folder: Path) -> Any:
    """A ``BundleDagBag`` of ``folder``; ``import_errors`` lists the broken files."""
    from airflow.dag_processing.dagbag import BundleDagBag

    return BundleDagBag(dag_folder=folder, bundle_path=folder, safe_mode=False)


def dag_problems(dagbag: Any, *, max_active_runs: int = 4) -> list[str]:
    """What a production DAG lacks: documentation, tags, an owner, retries, a run limit."""
    problems = []
    for dag_id, dag in sorted(dagbag.dags.items()):
        if not dag.doc_md or len(dag.doc_md) < 100:
            problems.append(f"{dag_id}: doc_md missing or shorter than 100 characters")
        if not dag.tags:
            problems.append(f"{dag_id}: no tags")
        if dag.max_active_runs > max_active_runs:
            problems.append(f"{dag_id}: max_active_runs={dag.max_active_runs} > {max_active_runs}")
        for task in dag.tasks:
            if task.owner in ("", "airflow"):
                problems.append(f"{dag_id}.{task.task_id}: no owner")
            if task.retries < 1:
                problems.append(f"{dag_id}.{task.task_id}: no retries")
    return problems


def heavy_imports_when_parsing(folder: Path, heavy: tuple[str, ...] = HEAVY_MODULES) -> list[str]:
    """The heavy libraries that parsing ``folder`` imports, measured in a fresh interpreter."""
    script = (
        "import json, sys\n"
        "from pathlib import Path\n"
        "from airflow_mlops.pytest_plugin import parse_dags\n"
        f"bag = parse_dags(Path({str(folder)!r}))\n"
        "assert not bag.import_errors, bag.import_errors\n"
        f"print(json.dumps([m for m in {list(heavy)!r} if m in sys.modules]))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    if done.returncode != 0:
        raise AssertionError(f"parsing {folder} failed:\n{done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])
