"""What the MLOps page reads from MLflow's REST API, as MLflow's own JSON.

Every read goes through :class:`~airflow_mlops.mlflow_rest.MlflowRest` (the api-server never
imports mlflow). Names reach a search filter only after the page checked them
(:func:`airflow_mlops.dashboard.views.check_name`).
"""

from __future__ import annotations

import json
import posixpath
import re
from collections.abc import Iterable
from typing import Any

from airflow_mlops.dashboard.links import run_artifact
from airflow_mlops.errors import ModelNotFoundError
from airflow_mlops.lineage import MODEL_TAG
from airflow_mlops.mlflow_rest import MlflowRest
from airflow_mlops.model_registry.client import monitoring_experiment, registration_experiment
from airflow_mlops.model_registry.report import EVALUATION_FILE

#: the most results MLflow returns per call
PAGE = 1000
#: run ids per ``IN`` filter of runs/search
RUN_BATCH = 100
_RUN_ID = re.compile(r"[0-9A-Za-z_-]+")


def registered_models(rest: MlflowRest) -> list[dict[str, Any]]:
    """Every registered model (with its aliases and latest versions)."""
    return rest.pages("registered-models/search", "registered_models", {"max_results": PAGE})


def registered_model(rest: MlflowRest, name: str) -> dict[str, Any]:
    """The registered model ``name`` (with its aliases).

    :raises ModelNotFoundError: the registry has no model ``name``.
    """
    query = {"filter": f"name = '{name}'", "max_results": 1}
    found = rest.get("registered-models/search", **query).get("registered_models", [])
    if not found:
        raise ModelNotFoundError(
            f"No registered model named {name!r} in MLflow at {rest.base}.",
            hint="Pick a model from /mlops/api/models; it appears once a CT run registers it.",
        )
    return found[0]


def search_versions(rest: MlflowRest, name: str, clause: str | None, limit: int) -> Any:
    """A page of versions of ``name`` matching ``clause`` (on ``version_number``), newest first."""
    condition = f"name = '{name}'" + (f" AND {clause}" if clause else "")
    return rest.get(
        "model-versions/search",
        filter=condition,
        max_results=limit,
        order_by="version_number DESC",
    )


def experiment_ids(rest: MlflowRest, name: str | None = None) -> list[str]:
    """The id of the experiment where CT registers model ``name``, or (``name`` None) every
    experiment id: ``runs/search`` needs them, and versions do not say theirs."""
    body: dict[str, Any] = {"max_results": PAGE}
    if name is not None:
        body["filter"] = f"name = '{registration_experiment(name)}'"
    experiments = rest.pages("experiments/search", "experiments", body, post=True)
    return [e["experiment_id"] for e in experiments]


def runs_by_id(
    rest: MlflowRest, experiments: list[str], run_ids: Iterable[str | None]
) -> dict[str, dict[str, Any]]:
    """The runs with these ids, fetched in batches of :data:`RUN_BATCH` with ``IN`` filters."""
    ids = sorted({r for r in run_ids if r and _RUN_ID.fullmatch(r)})
    runs: dict[str, dict[str, Any]] = {}
    for start in range(0, len(ids), RUN_BATCH):
        chunk = ids[start : start + RUN_BATCH]
        listed = ", ".join(f"'{r}'" for r in chunk)
        found = rest.post(
            "runs/search",
            {
                "experiment_ids": experiments,
                "filter": f"attributes.run_id IN ({listed})",
                "max_results": len(chunk),
            },
        )
        runs.update({run["info"]["run_id"]: run for run in found.get("runs", [])})
    return runs


def monitoring_runs(rest: MlflowRest, name: str) -> list[dict[str, Any]]:
    """The monitoring runs of model ``name`` (experiment ``monitoring/<name>``), oldest first."""
    experiment_filter = {"filter": f"name = '{monitoring_experiment(name)}'", "max_results": 1}
    found = rest.post("experiments/search", experiment_filter).get("experiments", [])
    if not found:
        return []
    body = {
        "experiment_ids": [found[0]["experiment_id"]],
        "filter": f"tags.`{MODEL_TAG}` = '{name}'",
        "order_by": ["attributes.start_time ASC"],
        "max_results": PAGE,
    }
    return rest.pages("runs/search", "runs", body, post=True)


def evaluation(rest: MlflowRest, report_uri: str | None) -> dict[str, Any] | None:
    """The gate's ``evaluation.json`` beside the report at ``report_uri`` (an artifact of an
    MLflow run, as the gate tags it), or None when there is none or it is not JSON."""
    artifact = run_artifact(report_uri)
    if artifact is None:
        return None
    run_id, path = artifact
    try:
        found = json.loads(
            rest.artifact(run_id, posixpath.join(posixpath.dirname(path), EVALUATION_FILE))
        )
    except (FileNotFoundError, ValueError):
        return None
    return found if isinstance(found, dict) else None
