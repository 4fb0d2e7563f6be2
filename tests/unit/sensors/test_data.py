"""The DVC data-arrival sensor and triggers, with their coroutines run for real."""

from __future__ import annotations

import asyncio
import subprocess
from collections import defaultdict
from pathlib import Path
from types import SimpleNamespace

import pytest
from airflow.sdk.exceptions import TaskDeferred

from airflow_mlops.data.versions import list_versions
from airflow_mlops.sensors.data import (
    DvcDataVersionSensor,
    DvcNewVersionEventTrigger,
    DvcNewVersionTrigger,
    DvcSensorError,
    processed_md5s,
)

TARGET = "data/cancer.csv"
NEW_MD5 = "0123456789abcdef0123456789abcdef"


def _publish_version(repo: Path, tag: str, md5: str = NEW_MD5) -> None:
    """A new dataset version as the registry records it: a .dvc file with a new md5, tagged."""
    dvc_file = repo / f"{TARGET}.dvc"
    dvc_file.write_text(f"outs:\n- md5: {md5}\n  size: 10\n  hash: md5\n  path: cancer.csv\n")
    env = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t"}
    env |= {"GIT_COMMITTER_EMAIL": "t@t", "PATH": "/usr/bin:/bin"}
    for argv in (["git", "commit", "-qam", tag], ["git", "tag", tag]):
        subprocess.run(argv, cwd=repo, env=env, check=True)


def _all_md5s(registry, tmp_path: Path) -> list[str]:
    return [v.md5 for v in list_versions(str(registry.repo), TARGET, mirrors_dir=tmp_path / "l")]


async def _first_event(trigger, after=None, timeout: float = 20.0):
    """Run the trigger; call ``after`` once it has polled once; return its first event."""
    events = trigger.run()
    pending = asyncio.ensure_future(anext(events))
    if after is not None:
        await asyncio.sleep(0.6)
        assert not pending.done()
        after()
    try:
        return (await asyncio.wait_for(pending, timeout)).payload
    finally:
        await events.aclose()


def _trigger(registry, tmp_path: Path, processed: list[str]) -> DvcNewVersionTrigger:
    return DvcNewVersionTrigger(
        registry=str(registry.repo),
        target=TARGET,
        refs="refs/tags/*",
        processed=processed,
        mirrors_dir=str(tmp_path / "mirrors"),
        poke_interval=0.2,
    )


def test_trigger_fires_at_once_for_an_unprocessed_version(demo_registry, tmp_path) -> None:
    md5s = _all_md5s(demo_registry, tmp_path)
    event = asyncio.run(_first_event(_trigger(demo_registry, tmp_path, md5s[:3])))

    assert event["status"] == "success"
    assert [v["rev"] for v in event["versions"]] == ["v4-corrupt"]


def test_trigger_waits_for_a_new_version_then_fires(demo_registry, tmp_path: Path) -> None:
    trigger = _trigger(demo_registry, tmp_path, _all_md5s(demo_registry, tmp_path))
    event = asyncio.run(
        _first_event(trigger, after=lambda: _publish_version(demo_registry.repo, "v5"))
    )

    (version,) = event["versions"]
    assert (version["rev"], version["md5"]) == ("v5", NEW_MD5)


def test_trigger_serializes_to_its_own_arguments(demo_registry, tmp_path: Path) -> None:
    trigger = _trigger(demo_registry, tmp_path, ["a"])
    classpath, kwargs = trigger.serialize()

    assert classpath == "airflow_mlops.sensors.data.DvcNewVersionTrigger"
    assert DvcNewVersionTrigger(**kwargs).serialize() == (classpath, kwargs)


def test_trigger_reports_an_unreachable_registry(tmp_path: Path) -> None:
    trigger = DvcNewVersionTrigger(
        registry=str(tmp_path / "missing"),
        target=TARGET,
        refs="refs/tags/*",
        processed=[],
        mirrors_dir=str(tmp_path / "m"),
    )
    event = asyncio.run(_first_event(trigger))

    assert event["status"] == "error"
    assert "missing" in event["message"]


def test_event_trigger_skips_the_baseline_and_yields_new_versions(demo_registry, tmp_path) -> None:
    trigger = DvcNewVersionEventTrigger(
        dataset="cancer",
        registry=str(demo_registry.repo),
        target=TARGET,
        mirrors_dir=str(tmp_path / "m"),
        poke_interval=0.2,
    )
    payload = asyncio.run(
        _first_event(trigger, after=lambda: _publish_version(demo_registry.repo, "v5"))
    )

    assert payload["reason"] == "new_data"
    assert (payload["dataset"], payload["rev"], payload["md5"]) == ("cancer", "v5", NEW_MD5)
    assert DvcNewVersionEventTrigger(**trigger.serialize()[1]).serialize() == trigger.serialize()


def _context(sensor: DvcDataVersionSensor, earlier_extras: list[dict]) -> dict:
    outlet_events = defaultdict(lambda: SimpleNamespace(extra={}))
    inlet_events = {sensor.asset: [SimpleNamespace(extra=e) for e in earlier_extras]}
    return {"inlet_events": inlet_events, "outlet_events": outlet_events}


def _sensor(registry, tmp_path: Path, **kwargs) -> DvcDataVersionSensor:
    return DvcDataVersionSensor(
        task_id="wait",
        registry=str(registry.repo),
        target=TARGET,
        mirrors_dir=str(tmp_path / "m"),
        poke_interval=0.2,
        **kwargs,
    )


def test_sensor_reports_the_newest_unprocessed_version(demo_registry, tmp_path) -> None:
    sensor = _sensor(demo_registry, tmp_path, refs="refs/tags/v[0-9]")
    md5s = _all_md5s(demo_registry, tmp_path)
    context = _context(sensor, [{"reason": "new_data", "md5": md5s[0]}])

    result = sensor.execute(context)

    assert sensor.asset.uri == "x-mlops://data/cancer"
    assert result["rev"] == "v2"
    assert result["covered_md5s"] == [md5s[1]]
    assert context["outlet_events"][sensor.asset].extra == result


def test_sensor_defers_when_all_is_processed_and_resumes_on_the_event(
    demo_registry, tmp_path: Path
) -> None:
    sensor = _sensor(demo_registry, tmp_path)
    extras = [{"reason": "new_data", "md5": m} for m in _all_md5s(demo_registry, tmp_path)]
    context = _context(sensor, extras)

    with pytest.raises(TaskDeferred) as deferred:
        sensor.execute(context)
    trigger = deferred.value.trigger
    event = asyncio.run(
        _first_event(trigger, after=lambda: _publish_version(demo_registry.repo, "v5"))
    )
    result = getattr(sensor, deferred.value.method_name)(context, event)

    assert (result["rev"], result["md5"], result["reason"]) == ("v5", NEW_MD5, "new_data")
    assert context["outlet_events"][sensor.asset].extra["rev"] == "v5"


def test_sensor_in_poke_mode(demo_registry, tmp_path: Path) -> None:
    sensor = _sensor(demo_registry, tmp_path, deferrable=False, refs="refs/heads/main")
    assert sensor.execute(_context(sensor, []))["rev"] == "main"


def test_sensor_fails_on_a_trigger_error(demo_registry, tmp_path: Path) -> None:
    sensor = _sensor(demo_registry, tmp_path)
    with pytest.raises(DvcSensorError, match="unreachable"):
        sensor.execute_complete({}, {"status": "error", "message": "registry unreachable"})


def test_processed_md5s_reads_sensor_and_watcher_events() -> None:
    extras = [
        {"reason": "new_data", "md5": "a", "covered_md5s": ["a", "b"]},
        {"from_trigger": True, "payload": {"reason": "new_data", "md5": "c"}},
        {"reason": "drift"},
    ]
    assert processed_md5s(extras) == {"a", "b", "c"}
