"""Partitioned drift and scoring: mapped sketch tasks write artifacts and return paths, the
reduce decides as the single pass; one real ``dag.test()`` of the mapped DAG."""

from __future__ import annotations

import pytest

from airflow_mlops.errors import ConfigError
from airflow_mlops.local.demo.synthetic import SyntheticGenerator
from airflow_mlops.monitoring.scalable import compute_drift
from airflow_mlops.monitoring.sources import frame_source, parquet_source, write_parquet
from airflow_mlops.operators.exceptions import InvalidArgumentError
from airflow_mlops.operators.partitioned import (
    DriftPartitionOperator,
    DriftReduceOperator,
    DriftReferenceOperator,
    ListPartitionsOperator,
    PartitionedDriftError,
    ScoringSummaryOperator,
)
from tests.support.partitioned import write_drift_dag


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    """A reference file, a folder of 4 current partitions (drifted), the single pass's result."""
    generator = SyntheticGenerator.fit()
    columns = list(generator.features)[:6]
    root = tmp_path_factory.mktemp("partitioned")
    ref = next(generator.chunks(3_000, seed=1, chunk_rows=3_000))[columns]
    cur = next(generator.chunks(8_000, seed=2, chunk_rows=8_000, shift={columns[0]: 1.0}))
    reference = write_parquet([ref], root / "reference.parquet")
    files = [
        write_parquet([part[columns]], root / "log" / f"part-{i}.parquet")
        for i, part in enumerate(cur.iloc[i : i + 2_000] for i in range(0, 8_000, 2_000))
    ]
    single = compute_drift(
        frame_source(ref), parquet_source(files), numerical_columns=columns
    ).as_dict()
    return {"reference": str(reference), "log": str(root / "log"), "columns": columns}, single


def test_map_and_reduce_with_a_fake_context(data, task_context):
    paths, single = data
    files = ListPartitionsOperator(task_id="partitions", location=paths["log"]).execute(
        task_context("partitions")
    )
    assert len(files) == 4 and files == sorted(files)
    fit = DriftReferenceOperator(
        task_id="reference", reference=paths["reference"], numerical_columns=paths["columns"]
    ).execute(task_context("reference"))
    partials = []
    for index, path in enumerate(files):
        context = task_context("sketch")
        context["ti"].map_index = index
        operator = DriftPartitionOperator(task_id="sketch", reference_fit=fit, path=path)
        partials.append(operator.execute(context))
    assert len(set(partials)) == 4 and all(p.endswith(".npz") for p in partials)
    result = DriftReduceOperator(
        task_id="decide",
        reference_fit=fit,
        reference=paths["reference"],
        partials=partials,
        current=files,
    ).execute(task_context("decide"))
    assert result["drifted_columns"] == single["drifted_columns"] == [paths["columns"][0]]
    assert result["dataset_drift"] == single["dataset_drift"]
    for column, test in single["tests"].items():
        assert result["tests"][column]["score"] == pytest.approx(test["score"], rel=1e-9)


def test_errors_name_the_task_and_the_bad_value(task_context, tmp_path):
    with pytest.raises(PartitionedDriftError, match="No Parquet data"):
        ListPartitionsOperator(task_id="partitions", location=str(tmp_path)).execute(
            task_context("partitions")
        )
    with pytest.raises(ConfigError, match=r"DriftPartitionOperator\(task_id='sketch'\): path"):
        DriftPartitionOperator(task_id="sketch", reference_fit="fit.npz", path="-rf")
    operator = DriftPartitionOperator(task_id="sketch", reference_fit="{{ x }}", path="p.parquet")
    operator.reference_fit = "-rendered"
    with pytest.raises(InvalidArgumentError, match="reference_fit"):
        operator.execute(task_context("sketch"))


def test_scoring_summary_sums_the_mapped_results(task_context):
    results = [
        {"rows": 100, "seconds": 2.0, "model_version": "3", "predictions_uri": "a",
         "inference_log_uri": "la"},
        {"rows": 300, "seconds": 4.0, "model_version": "3", "predictions_uri": "b",
         "inference_log_uri": "lb"},
    ]  # fmt: skip
    summary = ScoringSummaryOperator(task_id="summary", results=results).execute(
        task_context("summary")
    )
    assert summary["rows"] == 400 and summary["rows_per_second"] == 100.0
    assert summary["model_versions"] == ["3"] and summary["predictions_uris"] == ["a", "b"]


def test_the_mapped_dag_runs_with_dag_test(data, airflow_db, tmp_path, monkeypatch):
    from airflow import settings

    paths, single = data
    monkeypatch.setattr(settings, "DAGS_FOLDER", str(tmp_path))
    monkeypatch.setenv("AIRFLOW__CORE__DAGS_FOLDER", str(tmp_path))
    path = write_drift_dag(
        tmp_path, "partitioned_drift", paths["reference"], paths["log"], paths["columns"]
    )
    namespace = {"__file__": str(path)}
    exec(compile(path.read_text(), str(path), "exec"), namespace)
    run = namespace["dag"].test()
    assert run.state == "success"
    instances = run.get_task_instances()
    assert sorted(ti.map_index for ti in instances if ti.task_id == "sketch") == [0, 1, 2, 3]
    assert {ti.state for ti in instances} == {"success"}
    decide = next(ti for ti in instances if ti.task_id == "decide")
    assert decide.xcom_pull(task_ids="decide")["drifted_columns"] == single["drifted_columns"]
