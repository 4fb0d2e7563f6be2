"""``airflow-mlops demo``: the continuous-training story on the embedded demo data."""

from __future__ import annotations

import time
from collections.abc import Callable

from airflow_mlops.stack import StackConfig, airflow_cli, ensure_mlflow, stop_service


def _step(title: str, action: Callable[[], object]) -> object:
    print(f"\n==> {title}", flush=True)
    started = time.monotonic()
    result = action()
    print(f"    done in {time.monotonic() - started:.1f} s", flush=True)
    return result


def run_demo(config: StackConfig, *, keep_running: bool = False) -> int:
    """Bootstrap the data registry, start MLflow, run the DAGs, print where to look."""
    from airflow_mlops.data.registry import bootstrap_registry

    home = config.home
    started = time.monotonic()
    registry = _step(
        "Bootstrap the DVC data registry (v1, v2, v3-drift, v4-corrupt)",
        lambda: bootstrap_registry(home.registry_repo, home.dvc_remote),
    )
    _step(f"Start the MLflow server on {config.mlflow_url}", lambda: ensure_mlflow(config))
    _step("Migrate the Airflow metadata DB", lambda: airflow_cli(config, "db", "migrate"))
    dag_ids = sorted(p.stem for p in config.dags_folder.glob("*.py") if not p.stem.startswith("_"))
    for dag_id in dag_ids:
        _step(f"Run DAG {dag_id}", lambda d=dag_id: airflow_cli(config, "dags", "test", d))
    if not keep_running:
        stop_service("mlflow", home.pids)
    print(f"\nDemo finished in {time.monotonic() - started:.0f} s.")
    print(f"  data registry: {registry.repo}")
    print(f"  MLflow store:  {home.mlflow_dir}")
    print(f"  Airflow home:  {home.airflow_home} (task logs in logs/)")
    print(
        "  Browse it all: `airflow-mlops up`, then Airflow http://127.0.0.1:8080 and MLflow "
        "http://127.0.0.1:5000"
    )
    return 0
