"""The serving runtime's folder, its missing-runtime error and the serving image's Dockerfile
(making the runtime needs pip: tests/integration/model_registry/test_infra.py)."""

from __future__ import annotations

import importlib.metadata

import pytest

from airflow_mlops.errors import ServingError
from airflow_mlops.serving.check import check_serving
from airflow_mlops.serving.runtime import (
    ensure_runtime,
    requirements,
    runtime_dir,
    serving_dockerfile,
)


def test_the_runtime_pins_the_exporters_versions(tmp_path):
    version = importlib.metadata.version("onnxruntime")
    assert f"onnxruntime=={version}" in requirements()
    assert not any(r.startswith(("torch", "apache-airflow")) for r in requirements())
    assert runtime_dir(tmp_path).parent == tmp_path / "serving-runtime"
    assert f"onnxruntime{version}" in runtime_dir(tmp_path).name


def test_a_missing_runtime_is_a_clear_error(tmp_path):
    with pytest.raises(ServingError, match="No serving runtime at") as missing:
        ensure_runtime(tmp_path, create=False)
    assert "ensure_runtime" in missing.value.hint
    with pytest.raises(ServingError, match="does not exist"):
        check_serving(tmp_path / "bin/python", tmp_path / "model.onnx", None)


def test_a_made_runtime_is_reused(tmp_path):
    folder = runtime_dir(tmp_path)
    folder.mkdir(parents=True)
    (folder / "READY").write_text("")
    assert ensure_runtime(tmp_path, create=False) == folder / "bin" / "python"


def test_the_serving_image_holds_only_the_runtime():
    text = serving_dockerfile("mlops-base:local")
    assert text.startswith("FROM mlops-base:local\n")
    assert all(r in text for r in requirements()) and "torch" not in text
    assert 'ENTRYPOINT ["/opt/serving/bin/python", "/opt/serving/probe.py"]' in text
