"""Rollback to any earlier champion (the champion history) from the core, the CLI and the
operator, against a real MLflow server."""

from __future__ import annotations

import json

import pytest
from airflow.sdk import DAG

from airflow_mlops.errors import RegistryError
from airflow_mlops.lineage import CHAMPION, PREVIOUS, ROLLED_BACK_TAG
from airflow_mlops.model_registry.cli import add_rollback_parser
from airflow_mlops.model_registry.client import alias_version, resolve_model_version
from airflow_mlops.model_registry.promote import champion_history, promote, rollback
from airflow_mlops.model_registry.register import register_onnx_model
from airflow_mlops.operators.rollback import RollbackChampionOperator
from tests.support.context import make_task_context

pytestmark = pytest.mark.integration


@pytest.fixture
def four_champions(mlflow_server, onnx_models, model_name, lineage_for) -> list[str]:
    """Versions 1..4 of a new model, each promoted in turn (4 is champion)."""
    versions, champion = [], None
    for run in range(4):
        path = onnx_models["good" if run % 2 else "weak"]
        version = register_onnx_model(
            mlflow_server, model_name, path, lineage_for(f"manual__r{run}")
        ).version
        promote(mlflow_server, model_name, version, expected_champion=champion)
        versions.append(champion := version)
    return versions


def aliases(uri: str, name: str) -> tuple[str | None, str | None]:
    return alias_version(uri, name, CHAMPION), alias_version(uri, name, PREVIOUS)


def test_each_rollback_goes_one_further_back(mlflow_server, model_name, four_champions):
    v1, v2, v3, v4 = four_champions
    assert champion_history(mlflow_server, model_name) == [v1, v2, v3, v4]
    first = rollback(mlflow_server, model_name)
    assert (first.champion, first.moved_from, first.previous) == (v3, v4, v2)
    assert aliases(mlflow_server, model_name) == (v3, v2)
    second = rollback(mlflow_server, model_name)
    assert (second.champion, second.moved_from) == (v2, v3)
    assert aliases(mlflow_server, model_name) == (v2, v1)
    assert champion_history(mlflow_server, model_name) == [v1, v2]
    for left in (v3, v4):
        tags = resolve_model_version(mlflow_server, model_name, left).tags
        assert tags[ROLLED_BACK_TAG] == "true"
    rollback(mlflow_server, model_name)
    assert aliases(mlflow_server, model_name) == (v1, None)
    with pytest.raises(RegistryError, match="no earlier champion"):
        rollback(mlflow_server, model_name)


def test_rollback_to_a_chosen_earlier_champion_then_promote_again(
    mlflow_server, model_name, four_champions
):
    v1, _, v3, v4 = four_champions
    with pytest.raises(RegistryError, match=f"no earlier champion version {v4} "):
        rollback(mlflow_server, model_name, to_version=v4)
    move = rollback(mlflow_server, model_name, to_version=v1)
    assert (move.champion, move.moved_from, move.previous) == (v1, v4, None)
    assert champion_history(mlflow_server, model_name) == [v1]
    promote(mlflow_server, model_name, v3, expected_champion=v1)
    assert champion_history(mlflow_server, model_name) == [v1, v3]
    assert rollback(mlflow_server, model_name).champion == v1


def test_cli_rolls_back_step_by_step(mlflow_server, model_name, four_champions, capsys):
    import argparse

    v1, v2, v3, _ = four_champions
    parser = argparse.ArgumentParser()
    add_rollback_parser(parser.add_subparsers(dest="command"))
    base = ["rollback", "--model", model_name, "--tracking-uri", mlflow_server]
    for expected in (v3, v2):
        args = parser.parse_args(base)
        assert args.func(args) == 0
        assert json.loads(capsys.readouterr().out.splitlines()[-1])["champion"] == expected
    args = parser.parse_args([*base, "--list"])
    args.func(args)
    assert json.loads(capsys.readouterr().out)["history"] == [v1, v2]


def test_operator_goes_back_once_per_task_instance(mlflow_conn, model_name, four_champions):
    _, v2, v3, v4 = four_champions
    with DAG("ct_rollback_test", schedule=None):
        operator = RollbackChampionOperator(task_id="rollback", model_name=model_name)
    context = make_task_context(task=operator, run_id="manual__one")
    assert operator.execute(context)["champion"] == v3
    retried = operator.execute(context)
    assert (retried["champion"], retried["moved_from"], retried["already"]) == (v3, v4, True)
    again = operator.execute(make_task_context(task=operator, run_id="manual__two"))
    assert (again["champion"], again["already"]) == (v2, False)


@pytest.fixture
def mlflow_conn(mlflow_server, monkeypatch) -> str:
    monkeypatch.setenv(
        "AIRFLOW_CONN_MLFLOW_DEFAULT", json.dumps({"conn_type": "mlflow", "host": mlflow_server})
    )
    return mlflow_server
