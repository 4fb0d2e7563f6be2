"""Registration against a real MLflow server: parity of the registered model, lineage tags,
idempotent retries, and resolving/downloading versions."""

from __future__ import annotations

import json

import pytest

from airflow_mlops.export.runtime import OnnxPredictor
from airflow_mlops.lineage import ONNX_SHA256_TAG, PARAMS_TAG, RUN_ID_TAG, lineage_tag
from airflow_mlops.model_registry import (
    CHALLENGER,
    ModelVersionNotFoundError,
    download_onnx,
    resolve_model_version,
)
from airflow_mlops.model_registry.client import alias_version, find_versions
from airflow_mlops.model_registry.register import register_onnx_model

pytestmark = pytest.mark.integration


def test_registered_model_scores_like_the_exported_file(
    mlflow_server, onnx_models, cancer, model_name, lineage_for, tmp_path
):
    lineage = lineage_for("manual__1", validation_outcome="passed", parity_max_abs=1e-7)
    done = register_onnx_model(
        mlflow_server,
        model_name,
        onnx_models["good"],
        lineage,
        metrics={"val_accuracy": 0.97, "device": "cpu", "epochs_run": 3},
        params={"epochs": 5, "optimizer": {"lr": 0.01}},
        example=cancer,
    )
    assert (done.version, done.reused, done.alias) == ("1", False, CHALLENGER)

    ref = resolve_model_version(mlflow_server, model_name, CHALLENGER)
    assert (ref.version, ref.run_id, ref.aliases) == ("1", done.run_id, (CHALLENGER,))
    assert ref.tags[RUN_ID_TAG] == "manual__1"
    assert ref.tags[lineage_tag("validation_outcome")] == "passed"
    assert json.loads(ref.tags[PARAMS_TAG]) == {"epochs": 5, "lr": 0.01}
    assert ref.tags[ONNX_SHA256_TAG] == done.onnx_sha256
    assert resolve_model_version(mlflow_server, model_name, "1") == ref

    path = download_onnx(mlflow_server, ref, tmp_path / "cache")
    assert path.read_bytes() == onnx_models["good"].read_bytes()
    assert download_onnx(mlflow_server, ref, tmp_path / "cache") == path  # cached
    served = OnnxPredictor.load(path).predict_proba(cancer)
    exported = OnnxPredictor.load(onnx_models["good"]).predict_proba(cancer)
    assert abs(served - exported).max() == 0.0


def test_retry_of_the_same_run_reuses_its_version(
    mlflow_server, onnx_models, model_name, lineage_for
):
    lineage = lineage_for("scheduled__2")
    first = register_onnx_model(mlflow_server, model_name, onnx_models["good"], lineage)
    again = register_onnx_model(mlflow_server, model_name, onnx_models["good"], lineage)
    assert again.reused and again.version == first.version
    assert len(find_versions(mlflow_server, model_name, lineage.identity())) == 1
    other = register_onnx_model(
        mlflow_server, model_name, onnx_models["weak"], lineage_for("scheduled__3")
    )
    assert other.version == "2"
    assert alias_version(mlflow_server, model_name, CHALLENGER) == "2"


def test_unknown_alias_and_model_are_not_found(mlflow_server, model_name):
    with pytest.raises(ModelVersionNotFoundError, match="nothing to get alias"):
        resolve_model_version(mlflow_server, model_name, "champion")
    assert alias_version(mlflow_server, model_name, "champion") is None
