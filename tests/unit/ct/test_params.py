"""Run params: the UI schema and the server-side check agree and name the bad field."""

from __future__ import annotations

import pytest

from airflow_mlops.ct.params import FIELDS, parse_run_params
from airflow_mlops.errors import ConfigError


def test_defaults_are_valid_and_split_into_training_params() -> None:
    params = parse_run_params({})
    assert params.data_rev == "main"
    assert params.promote is True
    assert params.training_params() == {
        "max_epochs": 60,
        "learning_rate": 0.003,
        "hidden_layers": [64, 32],
        "batch_size": 64,
        "seed": 42,
    }


@pytest.mark.parametrize(
    ("conf", "field"),
    [
        ({"data_rev": "../../etc/passwd"}, "data_rev"),
        ({"data_rev": "--upload-pack=evil"}, "data_rev"),
        ({"data_rev": "v1; rm -rf /"}, "data_rev"),
        ({"epochs": 0}, "epochs"),
        ({"epochs": 10**9}, "epochs"),
        ({"epochs": "ten"}, "epochs"),
        ({"epochs": True}, "epochs"),
        ({"learning_rate": -0.1}, "learning_rate"),
        ({"learning_rate": float("nan")}, "learning_rate"),
        ({"hidden_sizes": []}, "hidden_sizes"),
        ({"hidden_sizes": [64, -1]}, "hidden_sizes"),
        ({"hidden_sizes": "64,32"}, "hidden_sizes"),
        ({"promote": "yes"}, "promote"),
    ],
)
def test_bad_values_are_refused_naming_the_field(conf: dict, field: str) -> None:
    with pytest.raises(ConfigError, match=f"Parameter '{field}'") as raised:
        parse_run_params(conf)
    assert "What to do:" in str(raised.value)


def test_unknown_parameters_are_refused() -> None:
    with pytest.raises(ConfigError, match="Unknown parameter"):
        parse_run_params({"epoch": 3})


def test_ui_schema_rejects_what_the_server_rejects() -> None:
    from airflow.sdk import Param
    from airflow.sdk.definitions.param import ParamsDict

    params = ParamsDict({f.name: Param(f.default, **f.schema()) for f in FIELDS})
    params.validate()
    for bad in ({"epochs": 0}, {"data_rev": "../x"}, {"hidden_sizes": [0]}):
        name, value = next(iter(bad.items()))
        trial = ParamsDict({f.name: Param(f.default, **f.schema()) for f in FIELDS})
        with pytest.raises(Exception, match=name):
            trial[name] = value


@pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf")])
def test_non_finite_numbers_are_refused_by_the_trigger_schema_and_the_server(value) -> None:
    """Airflow keeps a NaN through its JSON Schema check (every comparison is false) and later
    serializes it as null: the schema refuses it when the run is triggered, the server check
    says why in the project's words."""
    from airflow.sdk.exceptions import ParamValidationError
    from airflow.serialization.definitions.param import SerializedParam, SerializedParamsDict

    def triggered(rate: float) -> None:
        """What the api-server does with a trigger's conf (``create_dagrun``)."""
        schema = next(f for f in FIELDS if f.name == "learning_rate").schema()
        SerializedParamsDict({"learning_rate": SerializedParam(rate, **schema)}).validate()

    with pytest.raises(ConfigError, match="'learning_rate': must be a finite number"):
        parse_run_params({"learning_rate": value})
    with pytest.raises(ParamValidationError, match="param learning_rate"):
        triggered(value)
    triggered(0.01)
