"""Which of the five triggers started a CT run."""

from __future__ import annotations

import pytest

from airflow_mlops.ct.triggers import TriggerPolicy, classify_trigger
from airflow_mlops.errors import ConfigError


def test_manual_and_scheduled_runs() -> None:
    assert classify_trigger("manual", {}, []).reason == "manual"
    assert classify_trigger("scheduled", None, []).reason == "schedule"
    assert classify_trigger("manual", {"trigger": "drift"}, []).reason == "drift"


def test_asset_events_name_the_reason_and_the_revision() -> None:
    info = classify_trigger(
        "asset_triggered", None, [{"reason": "new_data", "rev": "v2", "md5": "abc"}]
    )
    assert (info.reason, info.data_rev) == ("new_data", "v2")


def test_an_event_commit_wins_over_its_branch_name() -> None:
    info = classify_trigger(
        "asset_triggered", None, [{"reason": "new_data", "rev": "main", "commit": "abc123"}]
    )
    assert info.data_rev == "abc123"


def test_asset_watcher_events_are_unwrapped() -> None:
    watcher_event = {"from_trigger": True, "payload": {"reason": "new_data", "rev": "v3"}}
    info = classify_trigger("asset_triggered", None, [watcher_event])
    assert (info.reason, info.data_rev) == ("new_data", "v3")


def test_coalesced_events_report_the_strongest_reason_and_latest_revision() -> None:
    events = [
        {"reason": "new_data", "rev": "v2"},
        {"reason": "drift", "drift_share": 0.4},
        {"reason": "new_data", "rev": "v3"},
    ]
    info = classify_trigger("asset_triggered", None, events)
    assert (info.reason, info.data_rev, len(info.events)) == ("drift", "v3", 3)


def test_policy_ignores_reasons_it_does_not_accept() -> None:
    policy = TriggerPolicy(on_drift=False)
    info = classify_trigger("asset_triggered", None, [{"reason": "drift"}], policy)
    assert info.reason == "manual"
    assert info.events == []


def test_bad_policy_and_unknown_trigger_are_refused() -> None:
    with pytest.raises(ConfigError, match="five-field cron"):
        TriggerPolicy(cron="nightly")
    with pytest.raises(ConfigError, match="not a known trigger"):
        classify_trigger("manual", {"trigger": "whim"}, [])
