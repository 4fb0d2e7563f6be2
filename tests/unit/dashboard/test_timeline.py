"""What came of each CT run, from the run's state, its tasks' states and their return values."""

from __future__ import annotations

from typing import Any

import pytest

from airflow_mlops.ct.plan import model_dag_tag
from airflow_mlops.dashboard.links import LinkBuilder
from airflow_mlops.dashboard.timeline import ct_run_row

LINKS = LinkBuilder(mlflow_ui_url=None, airflow_url="http://airflow:8080")
RUN = {
    "dag_id": "ct_wine",
    "run_id": "scheduled__2026-12-01T00:00:00+00:00",
    "run_type": "scheduled",
    "state": "success",
    "start_date": "2026-12-01T00:00:05+00:00",
    "end_date": "2026-12-01T00:04:00+00:00",
}
PREPARED = {"trigger": "schedule", "data_rev": "v2"}


def _row(tasks: list[dict[str, Any]], returns: dict[str, Any], **run: Any) -> dict[str, Any]:
    return ct_run_row({**RUN, **run}, tasks, {"prepare_run": PREPARED, **returns}, LINKS)


def test_a_gate_decision_is_the_outcome_with_its_reasons() -> None:
    gate = {"accepted": False, "challenger_version": 4, "reasons": ["f1 0.91 not above 0.93"]}
    row = _row([], {"register_model": {"version": "4"}, "evaluate_and_promote": gate})
    assert (row["outcome"], row["reason"], row["version"]) == (
        "rejected",
        "f1 0.91 not above 0.93",
        "4",
    )
    assert row["trigger"] == "schedule" and row["data_rev"] == "v2"
    assert row["links"]["task"] == (
        "http://airflow:8080/dags/ct_wine/runs/scheduled__2026-12-01T00%3A00%3A00%2B00%3A00"
        "/tasks/evaluate_and_promote"
    )


def test_an_already_trained_fingerprint_is_a_skip_naming_the_version() -> None:
    fingerprint = {"fingerprint": "ab", "trained": True, "version": "3", "evaluated": True}
    row = _row([{"task_id": "train", "state": "skipped"}], {"check_fingerprint": fingerprint})
    assert row["outcome"] == "skipped"
    assert row["reason"].startswith("already trained as version 3")
    assert row["links"]["task"].endswith("/tasks/check_fingerprint")


def test_a_fingerprint_another_run_holds_is_a_skip_naming_that_run() -> None:
    fingerprint = {"trained": False, "version": None, "reserved_by": {"owner": "ct/manual__1"}}
    row = _row([], {"check_fingerprint": fingerprint})
    assert (row["outcome"], row["reason"]) == (
        "skipped",
        "CT run ct/manual__1 is training the same fingerprint",
    )


def test_the_first_failed_task_is_the_reason_and_its_log_the_link() -> None:
    tasks = [
        {"task_id": "train", "state": "failed", "start_date": "2026-12-01T00:02:00"},
        {"task_id": "pull_data", "state": "failed", "start_date": "2026-12-01T00:01:00"},
        {"task_id": "export_onnx", "state": "upstream_failed", "start_date": None},
    ]
    row = _row(tasks, {}, state="failed")
    assert (row["outcome"], row["reason"]) == (
        "failed",
        "pull_data failed: open its log for the error",
    )
    assert row["links"]["task"].endswith("/tasks/pull_data")


@pytest.mark.parametrize(
    ("state", "tasks", "returns", "outcome"),
    [
        ("running", [{"task_id": "train", "state": "running"}], {}, "running"),
        ("success", [], {"register_model": {"version": "2"}}, "trained"),
        ("failed", [], {}, "failed"),
        ("success", [], {}, "skipped"),
    ],
)
def test_other_runs(
    state: str, tasks: list[dict[str, Any]], returns: dict[str, Any], outcome: str
) -> None:
    row = _row(tasks, returns, state=state)
    assert row["outcome"] == outcome and row["reason"]


def test_the_trigger_falls_back_to_the_run_type_before_prepare_run_returned() -> None:
    row = ct_run_row({**RUN, "state": "running"}, [], {}, LINKS)
    assert row["trigger"] == "scheduled"


def test_a_model_name_too_long_for_a_dag_tag_gets_none() -> None:
    assert model_dag_tag("wine") == "model:wine"
    assert model_dag_tag("m" * 95) is None
