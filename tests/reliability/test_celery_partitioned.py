"""The partitioned drift check scaled out: one mapped sketch task per partition on two Celery
workers (Redis broker, PostgreSQL, every component its own process), then the reduce; the
decision and scores are those of the single pass over all partitions."""

from __future__ import annotations

import time

import pytest

from airflow_mlops.local.demo.synthetic import SyntheticGenerator
from airflow_mlops.monitoring.scalable import compute_drift
from airflow_mlops.monitoring.sources import parquet_source, write_parquet
from tests.support.partitioned import write_drift_dag

pytestmark = [pytest.mark.slow, pytest.mark.integration]

DAG_ID = "drift_partitioned"
PARTITIONS = 8
ROWS = 40_000


def test_mapped_drift_on_two_celery_workers_decides_as_the_single_pass(
    start_cluster, redis_server: str, tmp_path
) -> None:
    generator = SyntheticGenerator.fit()
    columns = list(generator.features)[:6]
    reference = write_parquet(
        [next(generator.chunks(ROWS, seed=1, chunk_rows=ROWS))[columns]],
        tmp_path / "reference.parquet",
    )
    current = next(generator.chunks(ROWS, seed=2, chunk_rows=ROWS, shift={columns[0]: 1.0}))
    step = ROWS // PARTITIONS
    files = [
        write_parquet([current.iloc[i : i + step][columns]], tmp_path / "log" / f"p{i:06d}.parquet")
        for i in range(0, ROWS, step)
    ]
    single = compute_drift(
        parquet_source([reference]), parquet_source(files), numerical_columns=columns
    )
    cluster = start_cluster(
        "celery_partitioned",
        {},
        executor="CeleryExecutor",
        broker_url=redis_server,
        workers=2,
        env={
            # the DAG file is written once the cluster runs: look for new files every 5 s
            "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
        },
    )
    write_drift_dag(
        cluster.config.dags_folder, DAG_ID, str(reference), str(tmp_path / "log"), columns
    )
    cluster.api.wait_for_dags({DAG_ID})
    started = time.monotonic()
    run_id = cluster.api.trigger(DAG_ID)
    run = cluster.api.wait_for_run(DAG_ID, run_id, timeout_s=300)
    wall_s = time.monotonic() - started
    instances = cluster.api.task_instances(DAG_ID, run_id)
    sketches = [t for t in instances if t["task_id"] == "sketch"]
    hosts = {t["hostname"] for t in sketches}
    print(
        f"\n{PARTITIONS} partitions of {step} rows on {sorted(hosts)}: run {wall_s:.1f} s, "
        f"sketch tasks {sorted(round(t['duration'] or 0, 2) for t in sketches)} s"
    )
    assert run["state"] == "success", instances
    assert sorted(t["map_index"] for t in sketches) == list(range(PARTITIONS))
    assert hosts == {"worker-1", "worker-2"}  # both workers took partitions
    result = cluster.api.xcom(DAG_ID, run_id, "decide")
    assert result["drifted_columns"] == single.drifted_columns == [columns[0]]
    assert result["dataset_drift"] == single.dataset_drift
    assert result["current_rows"] == ROWS
    for column in single.columns:
        assert result["tests"][column.column]["score"] == pytest.approx(column.score, rel=1e-9)
