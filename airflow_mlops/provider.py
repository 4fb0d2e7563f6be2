"""Provider metadata for Airflow's ``apache_airflow_provider`` entry point.

With it, ``airflow providers list`` shows airflow-mlops with its integrations, operators, hooks,
sensors and triggers (as the official providers list theirs); the connection form offers the
``mlflow`` connection type with labelled fields and placeholders (Airflow 3.3 reads them from
here, not from the hook); and the operators' extra links are known to the UI.
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


#: integration name -> (documentation, operator modules, hook modules, sensor/trigger modules)
INTEGRATIONS: dict[str, tuple[str, list[str], list[str], list[str]]] = {
    "DVC": (
        "https://dvc.org/doc",
        ["airflow_mlops.operators.data", "airflow_mlops.operators.ct"],
        ["airflow_mlops.hooks.dvc"],
        ["airflow_mlops.sensors.data"],
    ),
    "Great Expectations": (
        "https://docs.greatexpectations.io/docs/",
        ["airflow_mlops.operators.validation"],
        [],
        [],
    ),
    "PyTorch": (
        "https://pytorch.org/docs/stable/",
        ["airflow_mlops.operators.training", "airflow_mlops.operators.kubernetes"],
        [],
        [],
    ),
    "ONNX": (
        "https://onnxruntime.ai/docs/",
        ["airflow_mlops.operators.export", "airflow_mlops.operators.scoring"],
        [],
        [],
    ),
    "MLflow": (
        "https://mlflow.org/docs/latest/",
        [
            "airflow_mlops.operators.skip_trained",
            "airflow_mlops.operators.register",
            "airflow_mlops.operators.evaluation",
            "airflow_mlops.operators.rollback",
        ],
        ["airflow_mlops.hooks.mlflow"],
        [],
    ),
    "Evidently": (
        "https://docs.evidentlyai.com/",
        ["airflow_mlops.operators.monitoring", "airflow_mlops.operators.partitioned"],
        [],
        [],
    ),
    "Docker": (
        "https://docs.docker.com/",
        ["airflow_mlops.operators.cicd"],
        [],
        [],
    ),
}

#: the ``mlflow`` connection form: host is the tracking URI, password a token (or, with a
#: login, the basic-auth password); see :class:`~airflow_mlops.hooks.mlflow.MlflowHook`
MLFLOW_CONNECTION: dict[str, Any] = {
    "connection-type": "mlflow",
    "hook-class-name": "airflow_mlops.hooks.mlflow.MlflowHook",
    "hook-name": "MLflow",
    "ui-field-behaviour": {
        "hidden-fields": ["schema", "port", "extra"],
        "relabeling": {
            "host": "Tracking URI",
            "login": "Username (basic auth, optional)",
            "password": "Token or password",
        },
        "placeholders": {
            "host": "http://mlflow:5000",
            "login": "leave empty to send the token as a bearer token",
            "password": "a bearer token, or the basic-auth password with a username",
        },
    },
}


def _modules(position: int) -> list[dict[str, Any]]:
    return [
        {"integration-name": name, "python-modules": entry[position]}
        for name, entry in INTEGRATIONS.items()
        if entry[position]
    ]


def get_provider_info() -> dict[str, Any]:
    """Return the provider description Airflow reads at start-up."""
    return {
        "package-name": "airflow-mlops",
        "name": "airflow-mlops",
        "description": "Continuous training of ML models: DVC, Great Expectations, torch in "
        "Docker, ONNX, MLflow and Evidently as operators, sensors and MLOps level 0/1/2 DAGs.",
        "versions": [__version__],
        "integrations": [
            {"integration-name": name, "external-doc-url": url, "tags": ["software"]}
            for name, (url, *_) in INTEGRATIONS.items()
        ],
        "operators": _modules(1),
        "hooks": _modules(2),
        "sensors": _modules(3),
        "triggers": _modules(3),
        "connection-types": [MLFLOW_CONNECTION],
        "extra-links": EXTRA_LINKS,
    }
