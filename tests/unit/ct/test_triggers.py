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


def test_policy_ignores_events_of_switched_off_triggers_beside_accepted_ones() -> None:
    policy = TriggerPolicy(on_drift=False)
    events = [{"reason": "drift"}, {"reason": "new_data", "rev": "v2"}]
    info = classify_trigger("asset_triggered", None, events, policy)
    assert (info.reason, info.events) == ("new_data", [{"reason": "new_data", "rev": "v2"}])


def test_a_run_of_only_switched_off_events_is_refused_not_recorded_as_manual() -> None:
    policy = TriggerPolicy(on_drift=False)
    with pytest.raises(ConfigError, match=r"\['drift'\].*switched off"):
        classify_trigger("asset_triggered", None, [{"reason": "drift"}], policy)


#: each trigger: (policy switch, how a run of it looks: run_type, conf, event extras)
RUNS = {
    "schedule": ({"cron": None}, ("scheduled", None, [])),
    "new_data": ({"on_new_data": False}, ("asset_triggered", None, [{"reason": "new_data"}])),
    "drift": ({"on_drift": False}, ("asset_triggered", None, [{"reason": "drift"}])),
    "performance": (
        {"on_performance_drop": False},
        ("asset_triggered", None, [{"reason": "performance"}]),
    ),
    "manual": ({"on_manual": False}, ("manual", {}, [])),
}
#: the asset each asset-driven trigger schedules on
ASSETS = {
    "new_data": "x-mlops://data/ds",
    "drift": "x-mlops://drift/m",
    "performance": "x-mlops://performance/m",
}


@pytest.mark.parametrize("trigger", sorted(RUNS))
def test_each_of_the_five_triggers_switches_on_and_off(trigger: str) -> None:
    switch_off, (run_type, conf, events) = RUNS[trigger]
    on, off = TriggerPolicy(), TriggerPolicy(**switch_off)
    assert classify_trigger(run_type, conf, events, on).reason == trigger
    with pytest.raises(ConfigError, match="switched off"):
        classify_trigger(run_type, conf, events, off)
    assert trigger in on.accepted_reasons
    assert trigger not in off.accepted_reasons
    # what is switched off is not in the schedule; everything else still is
    assert set(on.assets("ds", "m")) == set(ASSETS.values())
    assert set(off.assets("ds", "m")) == {u for t, u in ASSETS.items() if t != trigger}
    assert (off.cron is None) == (trigger == "schedule")


def test_drift_and_performance_have_separate_assets() -> None:
    only_performance = TriggerPolicy(cron=None, on_new_data=False, on_drift=False)
    assert only_performance.assets("ds", "m") == ("x-mlops://performance/m",)
    assert (
        TriggerPolicy(
            cron=None, on_new_data=False, on_drift=False, on_performance_drop=False
        ).assets("ds", "m")
        == ()
    )


def test_a_person_naming_a_switched_off_trigger_is_refused() -> None:
    with pytest.raises(ConfigError, match=r"'drift'.*switched off"):
        classify_trigger("manual", {"trigger": "drift"}, [], TriggerPolicy(on_drift=False))


def test_bad_policy_and_unknown_trigger_are_refused() -> None:
    with pytest.raises(ConfigError, match="five-field cron"):
        TriggerPolicy(cron="nightly")
    with pytest.raises(ConfigError, match="not a known trigger"):
        classify_trigger("manual", {"trigger": "whim"}, [])
