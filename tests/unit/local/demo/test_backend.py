"""The demo's training backend: Docker when an engine runs and the image has a base."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from airflow_mlops.local.demo import story

NO_BASE = "No base for the training image: python:3.11-slim cannot be pulled"


@pytest.fixture
def machine(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> dict[str, Any]:
    """A fake machine: engine up or down, base there or not, root or not; records scripts."""
    state: dict[str, Any] = {"engine": True, "base": False, "root": True, "ran": []}
    script = tmp_path / "scripts" / "ensure-docker.sh"
    script.parent.mkdir()
    script.write_text("# builds the base\n")

    def run(argv: list[str], check: bool = False) -> Any:
        state["ran"].append(argv)
        state["engine"] = state["base"] = True  # the script starts the engine, builds the base
        return type("Done", (), {"returncode": 0})()

    monkeypatch.setattr(story.shutil, "which", lambda name: "/usr/bin/docker")
    monkeypatch.setattr(story, "_docker_ok", lambda: state["engine"])
    monkeypatch.setattr(story, "_missing_base", lambda: None if state["base"] else NO_BASE)
    monkeypatch.setattr(story.os, "geteuid", lambda: 0 if state["root"] else 1000)
    monkeypatch.setattr(story.subprocess, "run", run)
    state["repo"] = tmp_path
    return state


def test_engine_running_base_missing_builds_the_fallback_base(
    machine: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    if not Path("/etc/debian_version").exists():
        pytest.skip("the demo builds the base only on Debian")
    assert story.docker_backend(machine["repo"]) == "docker"
    assert machine["ran"] == [["bash", str(machine["repo"] / "scripts" / "ensure-docker.sh")]]
    assert f"{NO_BASE}: building the local base image" in capsys.readouterr().out


def test_engine_running_base_missing_without_root_trains_locally_and_says_why(
    machine: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    machine["root"] = False
    assert story.docker_backend(machine["repo"]) == "local"
    out = capsys.readouterr().out
    assert f"NOTE: {NO_BASE}; training runs in a local subprocess" in out
    assert "make docker-base" in out and machine["ran"] == []


def test_engine_and_base_ready_is_docker_without_running_anything(
    machine: dict[str, Any],
) -> None:
    machine["base"] = True
    assert story.docker_backend(machine["repo"]) == "docker" and machine["ran"] == []
