"""The infra blessing: the challenger in the clean serving runtime (a virtualenv with
onnxruntime and numpy only), against a real MLflow server."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from airflow_mlops.errors import ServingError
from airflow_mlops.lineage import INFRA_BLESSING_TAG
from airflow_mlops.model_registry.client import alias_version, resolve_model_version
from airflow_mlops.model_registry.evaluation import evaluate_and_promote
from airflow_mlops.model_registry.gate import GateConfig
from airflow_mlops.model_registry.register import register_onnx_model
from airflow_mlops.serving.check import check_serving
from airflow_mlops.serving.runtime import ensure_runtime

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def serving_python(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The serving runtime, made once (pip, about a minute)."""
    return ensure_runtime(tmp_path_factory.mktemp("serving"))


def test_the_runtime_is_clean_and_scores_like_the_export(serving_python, onnx_models, cancer):
    result = check_serving(serving_python, onnx_models["good"], cancer, batch=256)
    assert (result.rows, result.parity_ok, result.clean) == (len(cancer), True, True)
    assert 0 < result.p50_ms <= result.p99_ms and result.rows_per_s > 0
    assert result.versions["onnxruntime"] and result.batch == 256
    print(json.dumps(result.to_dict()))  # the figures of the note


def test_promotion_needs_the_infra_blessing(
    mlflow_server, serving_python, onnx_models, model_name, lineage_for, cancer
):
    version = register_onnx_model(
        mlflow_server, model_name, onnx_models["good"], lineage_for("manual__infra")
    ).version
    tight = GateConfig(max_serving_p99_ms=1e-6, min_serving_rows_per_s=1.0)
    refused = evaluate_and_promote(
        mlflow_server, model_name, version, cancer, config=tight, serving_python=serving_python
    )
    assert not refused.accepted and refused.champion_after is None
    assert refused.reasons[0].startswith("failed serving p99 latency at batch 1 (ms)")
    tag = json.loads(
        resolve_model_version(mlflow_server, model_name, version).tags[INFRA_BLESSING_TAG]
    )
    assert tag["blessed"] is False and tag["parity_ok"] and tag["clean"]

    roomy = GateConfig(max_serving_p99_ms=1000.0, min_serving_rows_per_s=1.0)
    accepted = evaluate_and_promote(
        mlflow_server, model_name, version, cancer, config=roomy, serving_python=serving_python
    )
    assert accepted.promoted and accepted.metrics["infra"]["blessed"]
    assert alias_version(mlflow_server, model_name, "champion") == version


def test_a_missing_runtime_is_an_error_and_moves_nothing(
    mlflow_server, onnx_models, model_name, lineage_for, cancer, tmp_path
):
    version = register_onnx_model(
        mlflow_server, model_name, onnx_models["good"], lineage_for("manual__missing")
    ).version
    with pytest.raises(ServingError, match=r"serving runtime .* does not exist"):
        evaluate_and_promote(
            mlflow_server, model_name, version, cancer, serving_python=tmp_path / "no/python"
        )
    assert alias_version(mlflow_server, model_name, "champion") is None
    tags = resolve_model_version(mlflow_server, model_name, version).tags
    assert INFRA_BLESSING_TAG not in tags
