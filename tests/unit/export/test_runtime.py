"""OnnxPredictor: raw columns in any order, clear errors for missing columns or foreign models."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pandas as pd
import pytest
from onnx import TensorProto, helper

from airflow_mlops.errors import DataError, ExportError
from airflow_mlops.export.exporter import ExportResult
from airflow_mlops.export.runtime import ModelMetadata, OnnxPredictor


def raw_rows() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "grade": [1, 3, 7, None],
            "clinic": ["north", "west", "mars", None],
            "mean_smoothness": [0.09, 0.1, 0.11, 0.12],
            "worst_area": [700.0, 900.0, 1500.0, 400.0],
            "mean_texture": [18.0, 20.0, 25.0, 12.0],
            "mean_radius": [12.0, 15.0, 20.0, 9.0],
            "patient_id": ["a", "b", "c", "d"],
        }
    )


def test_load_reads_the_contract_metadata(classifier_export: ExportResult) -> None:
    predictor = OnnxPredictor.load(classifier_export.onnx_path)
    assert predictor.numeric_columns == [
        "mean_radius",
        "mean_texture",
        "worst_area",
        "mean_smoothness",
    ]
    assert predictor.categorical_columns == ["clinic", "grade"]
    assert predictor.label == "malignant"
    assert predictor.task == "classification"
    assert predictor.classes == [0, 1]
    names = [i.name for i in predictor.session.get_inputs()]
    assert names == ["numeric", "categorical"]
    assert [o.name for o in predictor.session.get_outputs()] == ["score"]


def test_scores_ignore_column_order_and_extra_columns(classifier_export: ExportResult) -> None:
    predictor = OnnxPredictor.load(classifier_export.onnx_path)
    frame = raw_rows()
    proba = predictor.predict_proba(frame)
    assert proba.shape == (4, 2)
    assert proba.dtype == np.float32
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-6)
    reordered = frame[list(reversed(frame.columns))].drop(columns="patient_id")
    np.testing.assert_array_equal(predictor.predict_proba(reordered), proba)
    labels = predictor.predict(frame)
    np.testing.assert_array_equal(labels, np.asarray([0, 1])[proba.argmax(axis=1)])


def test_missing_columns_name_what_is_missing(classifier_export: ExportResult) -> None:
    predictor = OnnxPredictor.load(classifier_export.onnx_path)
    with pytest.raises(DataError, match=r"lacks columns \['worst_area', 'clinic'\]") as caught:
        predictor.predict(raw_rows().drop(columns=["worst_area", "clinic"]))
    assert caught.value.details["missing"] == ["worst_area", "clinic"]


def test_non_numeric_values_in_a_numeric_column_are_a_data_error(
    classifier_export: ExportResult,
) -> None:
    predictor = OnnxPredictor.load(classifier_export.onnx_path)
    frame = raw_rows().assign(mean_radius=["12", "x", "3", "4"])
    with pytest.raises(DataError, match="non-numbers"):
        predictor.predict(frame)


def test_a_missing_file_is_an_export_error(tmp_path: Path) -> None:
    with pytest.raises(ExportError, match="does not exist"):
        OnnxPredictor.load(tmp_path / "nope.onnx")


def test_a_corrupt_file_is_an_export_error(tmp_path: Path) -> None:
    path = tmp_path / "broken.onnx"
    path.write_bytes(b"not a model")
    with pytest.raises(ExportError, match="cannot load"):
        OnnxPredictor.load(path)


def test_a_model_without_the_metadata_is_refused(tmp_path: Path) -> None:
    graph = helper.make_graph(
        [helper.make_node("Identity", ["numeric"], ["score"])],
        "plain",
        [helper.make_tensor_value_info("numeric", TensorProto.FLOAT, ["N", 2])],
        [helper.make_tensor_value_info("score", TensorProto.FLOAT, ["N", 2])],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 20)])
    model.ir_version = 10
    path = tmp_path / "plain.onnx"
    onnx.save(model, path)
    with pytest.raises(ExportError, match="not exported by airflow-mlops") as caught:
        OnnxPredictor.load(path)
    assert "numeric_columns" in caught.value.details["missing"]


def test_metadata_round_trips_through_props() -> None:
    metadata = ModelMetadata(("a",), ("c",), "y", "regression", ())
    assert ModelMetadata.from_props(metadata.to_props(), "x") == metadata
    with pytest.raises(ExportError, match="task 'ranking'"):
        ModelMetadata.from_props({**metadata.to_props(), "task": '"ranking"'}, "x")
