from __future__ import annotations

import json

import pytest

from airflow_mlops.errors import ConfigError
from airflow_mlops.training.config import TrainingConfig


def test_defaults_are_valid_and_lists_become_tuples() -> None:
    config = TrainingConfig.from_dict({"label": "y", "hidden_layers": [8, 4]})
    assert config.hidden_layers == (8, 4)
    assert config.task == "auto"
    assert config.device == "auto"


def test_to_dict_round_trips_through_json() -> None:
    config = TrainingConfig(label="y", numeric_columns=("a", "b"), model_kwargs={"width": 3})
    again = TrainingConfig.from_json(json.dumps(config.to_dict()))
    assert again == config


def test_every_bad_value_is_quoted_in_one_error() -> None:
    with pytest.raises(ConfigError) as info:
        TrainingConfig.from_dict(
            {
                "label": "y",
                "dropout": 1.5,
                "batch_size": 0,
                "device": "tpu",
                "hidden_layers": [8, -1],
            }
        )
    message = str(info.value)
    assert "dropout=1.5" in message
    assert "batch_size=0" in message
    assert "device='tpu'" in message
    assert "hidden_layers=[8, -1]" in message
    assert len(info.value.details["problems"]) == 4


def test_booleans_are_not_numbers() -> None:
    with pytest.raises(ConfigError, match="max_epochs=True"):
        TrainingConfig(label="y", max_epochs=True)


def test_unknown_keys_list_the_valid_ones() -> None:
    with pytest.raises(ConfigError, match="Unknown training parameters: \\['epochs'\\]") as info:
        TrainingConfig.from_dict({"label": "y", "epochs": 3})
    assert "max_epochs" in str(info.value)


def test_label_is_required() -> None:
    with pytest.raises(ConfigError, match="need 'label'"):
        TrainingConfig.from_dict({"max_epochs": 3})


def test_invalid_json_says_what_to_pass() -> None:
    with pytest.raises(ConfigError, match="not valid JSON"):
        TrainingConfig.from_json("{label: y}")


@pytest.mark.parametrize("factory", ["my_pkg.models", "my pkg:build", "x:y:z", ""])
def test_model_factory_must_be_module_colon_function(factory: str) -> None:
    with pytest.raises(ConfigError, match="model_factory"):
        TrainingConfig(label="y", model_factory=factory)


def test_label_cannot_be_a_feature_and_columns_cannot_overlap() -> None:
    with pytest.raises(ConfigError) as info:
        TrainingConfig(label="y", numeric_columns=("a", "y"), categorical_columns=("a",))
    assert "both numeric and categorical: ['a']" in str(info.value)
    assert "label 'y' is also listed" in str(info.value)


def test_from_file_reads_a_saved_config(tmp_path) -> None:
    path = tmp_path / "config.json"
    path.write_text(json.dumps({"label": "y", "max_epochs": 3}))
    assert TrainingConfig.from_file(path).max_epochs == 3
    with pytest.raises(ConfigError, match="Cannot read"):
        TrainingConfig.from_file(tmp_path / "missing.json")


def test_id_column_is_a_name_and_neither_the_label_nor_a_feature() -> None:
    assert TrainingConfig(label="y", id_column="row_id").to_dict()["id_column"] == "row_id"
    assert TrainingConfig(label="y").id_column is None
    with pytest.raises(ConfigError) as info:
        TrainingConfig(label="y", id_column="y")
    assert "id_column='y' is also the label" in str(info.value)
    with pytest.raises(ConfigError, match="id_column 'a' is also listed as a feature"):
        TrainingConfig(label="y", id_column="a", numeric_columns=("a",))
    with pytest.raises(ConfigError, match="id_column=''"):
        TrainingConfig(label="y", id_column="")


@pytest.mark.parametrize(
    ("task", "stored"),
    [
        (None, "auto"),
        ("binary", "binary"),
        ("multiclass", "multiclass"),
        ("classification", "classification"),
    ],
)
def test_tasks_of_the_pipeline_config_are_accepted(task, stored) -> None:
    assert TrainingConfig(label="y", task=task).task == stored
