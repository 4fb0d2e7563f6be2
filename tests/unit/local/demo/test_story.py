"""The demo story's waits, against a scripted scheduler (the real one is in tests/e2e).

An unpause just after a schedule boundary makes Airflow start two catch-up runs; that depends
on the wall clock, so the e2e story cannot choose it. Here the scheduler's answers are scripted.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from airflow_mlops.errors import ServiceError
from airflow_mlops.local.demo.story import StepResult, Story
from airflow_mlops.local.stack import StackConfig
from airflow_mlops.settings import MlopsHome

SENSOR = "mlops_data_arrival"


class ScriptedAirflow:
    """The run list of one DAG; unpausing it starts the runs in ``on_unpause``."""

    def __init__(self, on_unpause: list[dict[str, Any]]) -> None:
        self.on_unpause = on_unpause
        self.listed: list[dict[str, Any]] = []
        self.paused = True
        self.deleted: list[str] = []

    def set_paused(self, dag_id: str, paused: bool) -> None:
        self.paused = paused
        if not paused:
            self.listed = [dict(run, dag_id=dag_id) for run in self.on_unpause]

    def runs(self, dag_id: str) -> list[dict[str, Any]]:
        return list(self.listed)

    def new_runs(self, dag_id: str, known: set[str]) -> list[dict[str, Any]]:
        return [run for run in self.listed if run["dag_run_id"] not in known]

    def wait_for_new_run(self, dag_id: str, known: set[str]) -> dict[str, Any]:
        return self.new_runs(dag_id, known)[0]

    def wait_for_run(self, dag_id: str, run_id: str, timeout_s: float) -> dict[str, Any]:
        return next(run for run in self.listed if run["dag_run_id"] == run_id)

    def delete_run(self, dag_id: str, run_id: str) -> None:
        self.deleted.append(run_id)
        self.listed = [run for run in self.listed if run["dag_run_id"] != run_id]

    def task_states(self, dag_id: str, run_id: str) -> dict[str, str]:
        return {"wait_for_new_version": "deferred"}


def _run(run_id: str, state: str, run_type: str = "scheduled") -> dict[str, Any]:
    return {"dag_run_id": run_id, "state": state, "run_type": run_type}


def _story(api: ScriptedAirflow, tmp_path: Path) -> Story:
    config = StackConfig(home=MlopsHome(tmp_path), dags_folder=tmp_path, airflow_port=1)
    return Story(config, api)  # type: ignore[arg-type]


@pytest.fixture(autouse=True)
def _no_settle(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("airflow_mlops.local.demo.story.PAUSE_SETTLE_S", 0.0)


def test_a_second_catch_up_run_is_deleted_and_the_dag_paused_again(tmp_path: Path) -> None:
    api = ScriptedAirflow(
        [_run("scheduled__09:00", "success"), _run("scheduled__09:30", "running")]
    )
    result = StepResult("new data")

    first = _story(api, tmp_path).first_run_after_unpause(result, SENSOR)

    assert first["dag_run_id"] == "scheduled__09:00"
    assert api.paused
    assert api.deleted == ["scheduled__09:30"]
    assert [run["dag_run_id"] for run in result.runs] == ["scheduled__09:00"]


def test_one_catch_up_run_is_kept_as_it_is(tmp_path: Path) -> None:
    api = ScriptedAirflow([_run("scheduled__09:00", "success")])
    result = StepResult("new data")

    _story(api, tmp_path).first_run_after_unpause(result, SENSOR)

    assert api.deleted == []
    assert result.states(SENSOR) == ["success"]


def test_a_wait_for_a_run_type_that_never_comes_fails_with_the_runs_states(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("airflow_mlops.local.demo.story.STEP_TIMEOUT_S", 0.5)
    api = ScriptedAirflow([_run("scheduled__09:00", "running")])
    api.set_paused(SENSOR, False)

    with pytest.raises(ServiceError, match=r"did not all finish.*scheduled__09:00.*deferred"):
        _story(api, tmp_path).wait_new_runs(
            StepResult("ct"), SENSOR, set(), expect=frozenset({"asset_triggered"})
        )
