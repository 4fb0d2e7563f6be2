"""A DAG file of the partitioned drift check (mapped sketches, then a reduce), for the tests
that run it with ``dag.test()`` or on Celery workers."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

DAG_FILE = '''"""The partitioned drift check over {location}."""
from airflow.sdk import DAG

from airflow_mlops.operators.partitioned import drift_over_partitions

with DAG({dag_id!r}, schedule=None, catchup=False) as dag:
    drift_over_partitions(
        reference={reference!r}, location={location!r}, numerical_columns={columns!r}
    )
'''


def write_drift_dag(
    folder: Path, dag_id: str, reference: str, location: str, columns: Sequence[str]
) -> Path:
    """Write the DAG file ``<folder>/<dag_id>.py``; return its path."""
    path = folder / f"{dag_id}.py"
    path.write_text(
        DAG_FILE.format(
            dag_id=dag_id, reference=reference, location=location, columns=list(columns)
        )
    )
    return path
