from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from airflow_mlops.errors import ConfigError, DataError
from airflow_mlops.training.config import TrainingConfig
from airflow_mlops.training.preprocessing import Preprocessor, fit_preprocessor, infer_task


def test_fit_chooses_columns_and_is_json_able(cancer: pd.DataFrame) -> None:
    pre = fit_preprocessor(cancer, TrainingConfig(label="malignant"))
    assert len(pre.numeric_columns) == 30
    assert pre.numeric_columns[0] == "mean_radius"
    assert pre.categorical_columns == ["clinic"]
    assert pre.categories == {"clinic": ["east", "north", "south", "west"]}
    assert pre.task == "classification"
    assert pre.classes == [0, 1]
    assert pre.n_inputs == 34
    assert Preprocessor.from_dict(json.loads(json.dumps(pre.to_dict()))) == pre


def test_scaling_uses_only_the_rows_it_was_fitted_on(cancer: pd.DataFrame) -> None:
    train = cancer.iloc[:100]
    pre = fit_preprocessor(train, TrainingConfig(label="malignant"))
    assert pre.mean[0] == pytest.approx(train["mean_radius"].mean())
    assert pre.std[0] == pytest.approx(train["mean_radius"].std(ddof=0))
    scaled = pre.transform(train)
    assert scaled.dtype == np.float32
    assert abs(scaled[:, :30].mean(axis=0)).max() < 1e-4


def test_transform_ignores_column_order_and_extra_columns(cancer: pd.DataFrame) -> None:
    pre = fit_preprocessor(cancer, TrainingConfig(label="malignant"))
    shuffled = cancer.sample(frac=1.0, axis=1, random_state=1).assign(extra=1)
    np.testing.assert_array_equal(pre.transform(shuffled), pre.transform(cancer))


def test_unknown_category_is_all_zeros_and_missing_number_is_the_mean(
    cancer: pd.DataFrame,
) -> None:
    pre = fit_preprocessor(cancer, TrainingConfig(label="malignant"))
    rows = cancer.head(2).copy()
    rows["clinic"] = ["north", "mars"]
    rows.loc[rows.index[1], "mean_radius"] = np.nan
    out = pre.transform(rows)
    assert out[0, 30:].tolist() == [0, 1, 0, 0]
    assert out[1, 30:].tolist() == [0, 0, 0, 0]
    assert out[1, 0] == 0.0


def test_missing_feature_columns_are_named(cancer: pd.DataFrame) -> None:
    pre = fit_preprocessor(cancer, TrainingConfig(label="malignant"))
    with pytest.raises(DataError, match=r"lacks feature columns \['mean_radius', 'clinic'\]"):
        pre.transform(cancer.drop(columns=["clinic", "mean_radius"]))


def test_declared_and_excluded_columns() -> None:
    frame = pd.DataFrame({"id": [1, 2, 3], "a": [1.0, 2.0, 3.0], "code": [1, 2, 1], "y": [0, 1, 0]})
    config = TrainingConfig(label="y", exclude_columns=("id",), categorical_columns=("code",))
    pre = fit_preprocessor(frame, config)
    assert pre.numeric_columns == ["a"]
    assert pre.categories == {"code": ["1", "2"]}
    with pytest.raises(DataError, match=r"\['nope'\] are not in the data"):
        fit_preprocessor(frame, TrainingConfig(label="y", numeric_columns=("nope",)))


def test_too_many_categories_is_refused() -> None:
    frame = pd.DataFrame({"id": [f"u{i}" for i in range(30)], "y": [0, 1] * 15})
    with pytest.raises(DataError, match="'id' has 30 distinct values"):
        fit_preprocessor(frame, TrainingConfig(label="y", max_categories=10))


def test_task_inference() -> None:
    assert infer_task(pd.Series([0, 1, 1]), "auto") == "classification"
    assert infer_task(pd.Series(["cat", "dog"]), "auto") == "classification"
    assert infer_task(pd.Series([0.5, 1.2, 3.3]), "auto") == "regression"
    assert infer_task(pd.Series(range(100)), "auto") == "regression"
    with pytest.raises(ConfigError, match="task='regression'"):
        infer_task(pd.Series(["a", "b"]), "regression")


def test_target_encoding(regression_frame: pd.DataFrame) -> None:
    frame = pd.DataFrame({"x": [1.0, 2.0, 3.0, 4.0], "y": ["no", "yes", "no", "maybe"]})
    pre = fit_preprocessor(frame, TrainingConfig(label="y"))
    assert pre.classes == ["maybe", "no", "yes"]
    assert pre.encode_target(frame["y"]).tolist() == [1, 2, 1, 0]
    with pytest.raises(DataError, match=r"\['never'\] were not seen"):
        pre.encode_target(pd.Series(["never"]))
    with pytest.raises(DataError, match="1 missing values"):
        pre.encode_target(pd.Series(["no", None]))
    reg = fit_preprocessor(regression_frame, TrainingConfig(label="y"))
    assert reg.task == "regression" and reg.classes == [] and reg.n_outputs == 1
    assert reg.encode_target(regression_frame["y"]).dtype == np.float32


def test_single_class_is_refused() -> None:
    frame = pd.DataFrame({"x": [1.0, 2.0], "y": [1, 1]})
    with pytest.raises(DataError, match="label='y': every non-null value is 1, so"):
        fit_preprocessor(frame, TrainingConfig(label="y"))


def test_feature_columns_restrict_the_features_and_keep_their_types() -> None:
    frame = pd.DataFrame(
        {
            "row_id": [1, 2, 3, 4],
            "x": [0.1, 0.2, 0.3, 0.4],
            "noise": [9.0, 8.0, 7.0, 6.0],
            "colour": ["red", "blue", "red", "green"],
            "label": ["a", "b", "a", "b"],
        }
    )
    config = TrainingConfig(label="label", id_column="row_id", feature_columns=("x", "colour"))
    preprocessor = fit_preprocessor(frame, config)
    assert preprocessor.numeric_columns == ["x"]
    assert preprocessor.categorical_columns == ["colour"]
    with pytest.raises(DataError, match=r"Declared feature columns \['size'\]"):
        fit_preprocessor(frame, TrainingConfig(label="label", feature_columns=("x", "size")))
