"""Every DAG in dags/ imports cleanly, is documented, and parses without heavy imports.

Uses the project's own pytest plugin (airflow_mlops.pytest_plugin), as users would.
"""

from __future__ import annotations

from airflow_mlops.pytest_plugin import dag_problems, heavy_imports_when_parsing, parse_dags

EXPECTED = {
    "mlops_level0_manual",
    "mlops_level1_ct",
    "mlops_level2_cicd",
    "mlops_monitoring",
    "mlops_data_arrival",
}


def test_every_dag_file_imports_without_errors(mlops_dagbag) -> None:
    assert mlops_dagbag.import_errors == {}
    assert set(mlops_dagbag.dag_ids) == EXPECTED


def test_every_dag_is_documented_owned_tagged_and_retried(mlops_dagbag) -> None:
    assert dag_problems(mlops_dagbag) == []


def test_parsing_dags_imports_no_heavy_library(mlops_dags_folder) -> None:
    assert heavy_imports_when_parsing(mlops_dags_folder) == []


def test_our_assets_do_not_load_the_providers_uri_handlers(mlops_dags_folder) -> None:
    """An ``x-`` asset scheme skips Airflow's URI normalisation, which would import every
    provider's handler (the amazon one imports boto3) in each DAG file's parse."""
    assert heavy_imports_when_parsing(mlops_dags_folder, heavy=("boto3",)) == []


def test_the_checks_catch_a_bad_dag(tmp_path) -> None:
    (tmp_path / "bad.py").write_text(
        "import datetime, torch\n"
        "from airflow.sdk import DAG\n"
        "from airflow.providers.standard.operators.empty import EmptyOperator\n"
        "with DAG('bad', schedule=None, start_date=datetime.datetime(2026, 1, 1),"
        " max_active_runs=16):\n"
        "    EmptyOperator(task_id='t')\n"
    )
    problems = dag_problems(parse_dags(tmp_path))
    assert "bad: doc_md missing or shorter than 100 characters" in problems
    assert "bad: no tags" in problems
    assert "bad.t: no owner" in problems
    assert "bad.t: no retries" in problems
    assert heavy_imports_when_parsing(tmp_path) == ["torch"]


def test_parsing_dags_loads_no_task_time_machinery(mlops_dags_folder) -> None:
    """What only ``execute`` needs loads there: the DVC pull's machinery, the ONNX export's graph
    and runtime, the validation engine, the training config, the registry client and the report
    routes are not loaded by a DAG file's parse (with them, about 144 ms per file, not 125)."""
    machinery = (
        "airflow_mlops.data.dvc_repo",
        "airflow_mlops.data.dvc_cache",
        "airflow_mlops.export.graph",
        "airflow_mlops.export.runtime",
        "airflow_mlops.validation.engine",
        "airflow_mlops.training.config",
        "airflow_mlops.model_registry.client",
        "airflow_mlops.plugins.reports",
        "airflow_mlops.dashboard.links",
    )
    assert heavy_imports_when_parsing(mlops_dags_folder, heavy=machinery) == []
