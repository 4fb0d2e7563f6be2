"""The airflow-mlops Airflow plugin, registered through the ``airflow.plugins`` entry point."""

from __future__ import annotations

from airflow.plugins_manager import AirflowPlugin


class MlopsPlugin(AirflowPlugin):
    """Adds the MLOps page, the operators' extra links and the ``mlops`` macros to Airflow."""

    name = "airflow_mlops"
