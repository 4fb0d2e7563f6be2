"""SkipIfTrainedOperator: skip a known fingerprint, or resume from a version never evaluated."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.sdk import DAG

from airflow_mlops.model_registry import client, reserve
from airflow_mlops.operators.skip_trained import SkipIfTrainedOperator


def run(
    monkeypatch: pytest.MonkeyPatch,
    task_context: Any,
    *,
    known: str | None,
    finished: bool,
    holder: dict[str, Any] | None = None,
) -> tuple[dict[str, Any], list[str]]:
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://mlflow.test")
    monkeypatch.setattr(client, "find_trained_version", lambda uri, name, fp: known)
    monkeypatch.setattr(client, "evaluation_finished", lambda uri, name, version: finished)
    monkeypatch.setattr(
        reserve,
        "reserve_fingerprint",
        lambda uri, name, fp, **_: reserve.Reservation(fp, holder is None, holder=holder),
    )
    with DAG("ct", start_date=dt.datetime(2026, 1, 1, tzinfo=dt.UTC), schedule=None):
        check = SkipIfTrainedOperator(
            task_id="check_fingerprint", model_name="m", data_md5="a" * 32,
            training_params={"label": "y"}, model_code="builtin", git_sha="abc",
            resume_task_ids=["evaluate_and_promote"],
        )  # fmt: skip
        train, register = EmptyOperator(task_id="train"), EmptyOperator(task_id="register")
        promote = EmptyOperator(task_id="evaluate_and_promote")
        check >> train >> register >> promote
        check >> promote
    skipped: list[str] = []
    monkeypatch.setattr(
        SkipIfTrainedOperator,
        "skip",
        lambda self, ti, tasks: skipped.extend(t.task_id for t in tasks),
    )
    return check.execute(task_context(task=check)), sorted(skipped)


def test_a_new_fingerprint_trains(monkeypatch: pytest.MonkeyPatch, task_context: Any) -> None:
    result, skipped = run(monkeypatch, task_context, known=None, finished=False)
    assert (result["trained"], result["version"], skipped) == (False, None, [])


def test_a_fingerprint_another_run_reserved_skips_everything(
    monkeypatch: pytest.MonkeyPatch, task_context: Any
) -> None:
    holder = {"owner": "level0/manual__1", "since": 0.0}
    result, skipped = run(monkeypatch, task_context, known=None, finished=False, holder=holder)
    assert (result["version"], result["reserved_by"]) == (None, holder)
    assert skipped == ["evaluate_and_promote", "register", "train"]


def test_an_evaluated_version_skips_everything(
    monkeypatch: pytest.MonkeyPatch, task_context: Any
) -> None:
    result, skipped = run(monkeypatch, task_context, known="3", finished=True)
    assert (result["version"], result["evaluated"]) == ("3", True)
    assert skipped == ["evaluate_and_promote", "register", "train"]


def test_a_version_whose_gate_never_finished_is_evaluated_again(
    monkeypatch: pytest.MonkeyPatch, task_context: Any
) -> None:
    result, skipped = run(monkeypatch, task_context, known="3", finished=False)
    assert (result["version"], result["evaluated"]) == ("3", False)
    assert skipped == ["register", "train"]


def test_the_code_enters_the_fingerprint(
    monkeypatch: pytest.MonkeyPatch, task_context: Any
) -> None:
    from airflow_mlops.lineage import fingerprint

    result, _ = run(monkeypatch, task_context, known=None, finished=False)
    assert result["fingerprint"] == fingerprint(
        "a" * 32, "unpinned", {"label": "y"}, model_code="builtin", git_sha="abc"
    )
