"""Register an ONNX model in MLflow with its lineage, idempotently, and point ``challenger`` at it.

A registration is identified by its lineage identity (DAG id, run id, fingerprint). A retry first
looks for a version with that identity and reuses it; failing that, it reuses a finished MLflow
run of the same identity that already holds the logged model, so a server that went down between
logging and registering costs neither a second upload nor a second version.
"""

from __future__ import annotations

import contextlib
import hashlib
import math
import os
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from airflow_mlops.lineage import (
    CHALLENGER,
    MODEL_ID_TAG,
    MODEL_TAG,
    ONNX_SHA256_TAG,
    RUN_ID_TAG,
    Lineage,
)
from airflow_mlops.model_registry.client import (
    MODEL_ARTIFACT,
    find_versions,
    mlflow_client,
    registration_experiment,
    registry_call,
    tag_clauses,
)
from airflow_mlops.model_registry.reserve import release_fingerprint

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

    from airflow_mlops.export.runtime import OnnxPredictor

EXAMPLE_ROWS = 5
_MAX_PARAM_CHARS = 6000
#: mlflow's fluent API (needed by ``mlflow.onnx.log_model``) keeps the tracking URI globally
_TRACKING_LOCK = threading.Lock()


@dataclass(frozen=True)
class Registration:
    """The outcome of :func:`register_onnx_model`.

    :param reused: True when a retry found the version made by an earlier attempt.
    """

    name: str
    version: str
    run_id: str
    model_uri: str
    onnx_sha256: str
    alias: str
    reused: bool

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able dict (for XCom)."""
        return {
            "name": self.name,
            "version": self.version,
            "run_id": self.run_id,
            "model_uri": self.model_uri,
            "onnx_sha256": self.onnx_sha256,
            "alias": self.alias,
            "reused": self.reused,
        }


def register_onnx_model(
    tracking_uri: str,
    name: str,
    onnx_path: str | Path,
    lineage: Lineage,
    *,
    metrics: Mapping[str, Any] | None = None,
    params: Mapping[str, Any] | None = None,
    example: pd.DataFrame | None = None,
    experiment: str | None = None,
    alias: str | None = CHALLENGER,
) -> Registration:
    """Log ``onnx_path`` to MLflow, register it as a version of ``name``, set ``alias`` on it.

    :param tracking_uri: the MLflow tracking server.
    :param name: registered model name.
    :param onnx_path: a local ONNX file exported by airflow-mlops (checked on load).
    :param lineage: the lineage; its tags go on the version and the run, and its identity
        (DAG id, run id, fingerprint) makes retries idempotent.
    :param metrics: numeric metrics logged on the run (others are skipped).
    :param params: params logged on the run (nested dicts flattened with dots).
    :param example: raw rows for the input example (first rows); None = a neutral row.
    :param experiment: the MLflow experiment; default ``ct/<name>``.
    :param alias: the alias to point at the version (None to set none).
    :raises ExportError: the file is not a valid airflow-mlops ONNX model.
    :raises RegistryError: MLflow refused or could not be reached (safe to retry).
    """
    from airflow_mlops.export.runtime import OnnxPredictor

    predictor = OnnxPredictor.load(onnx_path)
    # mlflow.onnx re-serialises the loaded model: hash those bytes, which are what it stores
    sha256 = hashlib.sha256(_load_onnx(onnx_path).SerializeToString()).hexdigest()
    identity = lineage.identity()
    client = mlflow_client(tracking_uri)
    existing = find_versions(tracking_uri, name, identity)
    if existing:
        ref = existing[0]
        _set_alias(client, tracking_uri, name, alias, ref.version)
        return Registration(
            name, ref.version, ref.run_id or "", ref.onnx_uri, sha256, alias or "", True
        )

    tags = {**lineage.tags(), ONNX_SHA256_TAG: sha256}
    run_id, model_id, model_uri = _logged_model(
        tracking_uri,
        name,
        onnx_path,
        predictor,
        experiment or registration_experiment(name),
        identity,
        run_tags={**tags, MODEL_TAG: name},
        metrics=metrics or {},
        params=params or {},
        example=example,
    )
    ensure_registered_model(client, tracking_uri, name)
    version = registry_call(
        f"register a version of {name!r} from run {run_id}",
        tracking_uri,
        lambda: client.create_model_version(
            name, model_uri, run_id=run_id, tags=tags, model_id=model_id
        ),
    )
    _set_alias(client, tracking_uri, name, alias, version.version)
    if lineage.fingerprint:
        release_fingerprint(client, tracking_uri, name, lineage.fingerprint)
    return Registration(
        name, str(version.version), run_id, model_uri, sha256, alias or "", reused=False
    )


def _set_alias(client: Any, tracking_uri: str, name: str, alias: str | None, version: str) -> None:
    if alias:
        registry_call(
            f"point alias {alias!r} of {name!r} at version {version}",
            tracking_uri,
            lambda: client.set_registered_model_alias(name, alias, version),
        )


def ensure_registered_model(client: Any, tracking_uri: str, name: str) -> None:
    """Create the registered model ``name`` unless it exists."""
    from mlflow.exceptions import RestException

    def create() -> None:
        try:
            client.create_registered_model(name, tags={MODEL_TAG: name})
        except RestException as error:
            if error.error_code != "RESOURCE_ALREADY_EXISTS":
                raise

    registry_call(f"create registered model {name!r}", tracking_uri, create)


def _logged_model(
    tracking_uri: str,
    name: str,
    onnx_path: str | Path,
    predictor: OnnxPredictor,
    experiment: str,
    identity: Mapping[str, str],
    *,
    run_tags: Mapping[str, str],
    metrics: Mapping[str, Any],
    params: Mapping[str, Any],
    example: pd.DataFrame | None,
) -> tuple[str, str, str]:
    """``(run_id, model_id, model_uri)`` of a finished run holding the model: an earlier
    attempt's, or a new run in which the model, params and metrics are logged now."""
    import mlflow

    client = mlflow_client(tracking_uri)
    exp_id = experiment_id(client, tracking_uri, experiment)
    done = registry_call(
        f"search earlier registration runs of {name!r}",
        tracking_uri,
        lambda: client.search_runs(
            [exp_id],
            filter_string=" AND ".join(
                [*tag_clauses({**identity, MODEL_TAG: name}), "attributes.status = 'FINISHED'"]
            ),
            max_results=1,
        ),
    )
    if done and done[0].data.tags.get(MODEL_ID_TAG):
        model_id = done[0].data.tags[MODEL_ID_TAG]
        return done[0].info.run_id, model_id, f"models:/{model_id}"

    feeds = _example_feeds(predictor, example)
    signature = _signature(predictor, feeds)

    def log() -> tuple[str, str, str]:
        with (
            mlflow_scope(tracking_uri),
            mlflow.start_run(
                experiment_id=exp_id,
                run_name=run_tags.get(RUN_ID_TAG),
                tags=dict(run_tags),
            ) as run,
        ):
            mlflow.log_params(flatten_params(params))
            mlflow.log_metrics(numeric_metrics(metrics))
            info = mlflow.onnx.log_model(
                _load_onnx(onnx_path),
                name=MODEL_ARTIFACT,
                signature=signature,
                input_example=feeds,
                pip_requirements=_pip_requirements(),
                onnx_execution_providers=["CPUExecutionProvider"],
                # one self-contained file: it is what download_onnx fetches and verifies
                save_as_external_data=False,
            )
            mlflow.set_tag(MODEL_ID_TAG, info.model_id)
        return run.info.run_id, info.model_id, info.model_uri

    return registry_call(f"log the ONNX model of {name!r}", tracking_uri, log)


def experiment_id(client: Any, tracking_uri: str, experiment: str) -> str:
    from mlflow.exceptions import RestException

    def get_or_create() -> str:
        found = client.get_experiment_by_name(experiment)
        if found is not None:
            return found.experiment_id
        try:
            return client.create_experiment(experiment)
        except RestException as error:  # created meanwhile by a concurrent task
            if error.error_code != "RESOURCE_ALREADY_EXISTS":
                raise
            return client.get_experiment_by_name(experiment).experiment_id

    return registry_call(f"open experiment {experiment!r}", tracking_uri, get_or_create)


@contextlib.contextmanager
def mlflow_scope(tracking_uri: str) -> Iterator[None]:
    """Point mlflow's global (fluent) tracking and registry URIs at ``tracking_uri`` for a block,
    then restore exactly what was set before (unset stays unset, so a later change of
    ``MLFLOW_TRACKING_URI`` still counts). ``mlflow.set_*_uri`` also writes the
    ``MLFLOW_*_URI`` environment variables, so those are restored too."""
    import mlflow
    from mlflow.tracking._model_registry import utils as registry_utils
    from mlflow.tracking._tracking_service import utils as tracking_utils

    names = ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI")
    with _TRACKING_LOCK:
        before = (tracking_utils._tracking_uri, registry_utils._registry_uri)
        environment = {name: os.environ.get(name) for name in names}
        mlflow.set_tracking_uri(tracking_uri)
        mlflow.set_registry_uri(tracking_uri)
        try:
            yield
        finally:
            tracking_utils._tracking_uri, registry_utils._registry_uri = before
            for name, value in environment.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value


def _load_onnx(path: str | Path) -> Any:
    import onnx

    return onnx.load(str(path))


def _pip_requirements() -> list[str]:
    """Serving needs onnxruntime only; naming it skips mlflow's slow requirement inference."""
    import onnxruntime

    return [f"onnxruntime=={onnxruntime.__version__}"]


def _example_feeds(predictor: OnnxPredictor, example: pd.DataFrame | None) -> dict[str, np.ndarray]:
    """The model's input arrays for the first rows of ``example``, or one neutral row."""
    import numpy as np
    import pandas as pd

    if example is None or len(example) == 0:
        row: dict[str, Any] = {column: 0.0 for column in predictor.numeric_columns}
        row.update({column: "" for column in predictor.categorical_columns})
        example = pd.DataFrame([row])
    feeds = predictor.inputs(example.head(EXAMPLE_ROWS))
    return {key: np.asarray(value) for key, value in feeds.items()}


def _signature(predictor: OnnxPredictor, feeds: Mapping[str, np.ndarray]) -> Any:
    from mlflow.models import infer_signature

    from airflow_mlops.export.runtime import SCORE_OUTPUT

    return infer_signature(dict(feeds), {SCORE_OUTPUT: predictor.run(dict(feeds))})


def flatten_params(params: Mapping[str, Any], prefix: str = "") -> dict[str, str]:
    """``{"a": {"b": 1}}`` -> ``{"a.b": "1"}``; values cut to MLflow's 6000-character limit."""
    flat: dict[str, str] = {}
    for key, value in params.items():
        path = f"{prefix}{key}"
        if isinstance(value, Mapping):
            flat.update(flatten_params(value, prefix=f"{path}."))
        else:
            flat[path] = str(value)[:_MAX_PARAM_CHARS]
    return flat


def numeric_metrics(metrics: Mapping[str, Any]) -> dict[str, float]:
    """The finite numeric entries of ``metrics`` (booleans and text are not metrics)."""
    return {
        key: float(value)
        for key, value in metrics.items()
        if isinstance(value, int | float)
        and not isinstance(value, bool)
        and math.isfinite(float(value))
    }
