"""Bad training input stops before any training, naming the field and what to do."""

from __future__ import annotations

import pandas as pd
import pytest

from airflow_mlops.errors import ConfigError, DataError
from airflow_mlops.training.checks import check_model_factory, check_training_data
from airflow_mlops.training.config import TrainingConfig
from airflow_mlops.training.model import build_model
from airflow_mlops.training.preprocessing import infer_task


def frame(**columns) -> pd.DataFrame:
    base = {"row_id": [1, 2, 3, 4], "x": [0.1, 0.2, 0.3, 0.4], "label": ["a", "b", "a", "c"]}
    return pd.DataFrame({**base, **columns})


def test_good_data_passes() -> None:
    check_training_data(frame(), TrainingConfig(label="label", id_column="row_id"))


@pytest.mark.parametrize(
    ("data", "config", "error", "message", "hint"),
    [
        (frame(), {"label": "target"}, DataError, r"label='target': no such column", "label"),
        (
            frame(label=[None] * 4),
            {"label": "label"},
            DataError,
            r"label='label': every value is null",
            "label",
        ),
        (
            frame(label=["a", "a", None, "a"]),
            {"label": "label"},
            DataError,
            r"label='label': every non-null value is 'a'",
            "two label values",
        ),
        (
            frame(row_id=[1, 2, 2, 3]),
            {"label": "label", "id_column": "row_id"},
            DataError,
            r"id_column='row_id': 1 ids occur more than once, e.g. \[2\]",
            "Drop the duplicate rows",
        ),
        (
            frame(),
            {"label": "label", "id_column": "uid"},
            DataError,
            r"id_column='uid': no such column",
            "id_column",
        ),
        (
            frame(),
            {"label": "label", "task": "regression"},
            ConfigError,
            r"task='regression' but label='label' holds object values such as \['a', 'b', 'c'\]",
            "'binary' or 'multiclass'",
        ),
    ],
    ids=[
        "label-missing",
        "label-all-null",
        "label-constant",
        "id-duplicates",
        "id-missing",
        "regression-on-strings",
    ],
)
def test_bad_input_names_the_field_and_says_what_to_do(data, config, error, message, hint):
    with pytest.raises(error, match=message) as refused:
        check_training_data(data, TrainingConfig(**config))
    assert hint in refused.value.hint


def test_the_label_checks_run_where_training_first_reads_the_label() -> None:
    with pytest.raises(DataError, match="every non-null value is 'a'"):
        infer_task(frame(label=["a"] * 4)["label"], "auto")
    with pytest.raises(ConfigError, match="task='regression'"):
        infer_task(frame()["label"], "regression")


@pytest.mark.parametrize(
    ("task", "expected"),
    [(None, "classification"), ("multiclass", "classification"), ("auto", "classification")],
)
def test_tasks_map_to_the_networks_kind(task, expected) -> None:
    assert infer_task(frame()["label"], task) == expected


def test_binary_needs_exactly_two_classes() -> None:
    assert infer_task(frame(label=["a", "b", "a", "b"])["label"], "binary") == "classification"
    with pytest.raises(DataError, match="task='binary' but label 'label' has 3 distinct values"):
        infer_task(frame()["label"], "binary")


def test_a_factory_that_does_not_import_is_refused_with_what_to_do() -> None:
    with pytest.raises(ConfigError, match=r"Cannot import model_factory 'no_such_pkg\.nets:build'"):
        check_model_factory("no_such_pkg.nets:build")
    with pytest.raises(ConfigError, match="is a str, not a function"):
        check_model_factory("airflow_mlops.training.model:DEFAULT_FACTORY")
    check_model_factory(None)


def test_a_factory_that_returns_no_module_is_refused_before_training() -> None:
    with pytest.raises(ConfigError, match=r"returned str, not a torch\.nn\.Module") as refused:
        build_model("tests.unit.training.test_model:not_a_module", {"n_inputs": 2, "n_outputs": 1})
    assert "torch.nn.Module" in refused.value.hint
