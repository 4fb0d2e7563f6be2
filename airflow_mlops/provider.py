"""Provider metadata for Airflow's ``apache_airflow_provider`` entry point.

With it, ``airflow providers list`` shows airflow-mlops, the connection form offers the
``mlflow`` connection type, and the operators' extra links are known to the UI.
"""

from __future__ import annotations

from typing import Any

from airflow_mlops import __version__

#: operator extra links (class paths): ``airflow_mlops.plugins.links.EXTRA_LINKS``
EXTRA_LINKS: list[str] = [
    "airflow_mlops.plugins.links.DataRevisionLink",
    "airflow_mlops.plugins.links.DataDocsLink",
    "airflow_mlops.plugins.links.TrainingOutputLink",
    "airflow_mlops.plugins.links.ParityReportLink",
    "airflow_mlops.plugins.links.MlflowRunLink",
    "airflow_mlops.plugins.links.MlflowModelVersionLink",
    "airflow_mlops.plugins.links.EvaluationReportLink",
    "airflow_mlops.plugins.links.DriftReportLink",
    "airflow_mlops.plugins.links.InferenceLogLink",
]


def get_provider_info() -> dict[str, Any]:
    """Return the provider description Airflow reads at start-up."""
    return {
        "package-name": "airflow-mlops",
        "name": "airflow-mlops",
        "description": "Continuous training of ML models: DVC, Great Expectations, torch in "
        "Docker, ONNX, MLflow and Evidently as operators, sensors and MLOps level 0/1/2 DAGs.",
        "versions": [__version__],
        "connection-types": [
            {
                "connection-type": "mlflow",
                "hook-class-name": "airflow_mlops.hooks.mlflow.MlflowHook",
            }
        ],
        "extra-links": EXTRA_LINKS,
    }
