"""The registry client: evaluation_finished says the gate is done with a version once it decided
and, if it accepted, champion reached the version."""

from __future__ import annotations

import pytest

from airflow_mlops.lineage import GATE_DECISION_TAG
from airflow_mlops.model_registry import client


@pytest.mark.parametrize(
    ("decision", "champion", "finished"),
    [
        (None, None, False),  # failed in evaluation: no decision
        (None, "2", False),
        ("rejected", "2", True),
        ("accepted", None, False),  # failed in promotion: accepted, never champion
        ("accepted", "2", False),
        ("accepted", "3", True),
        ("accepted", "4", True),  # promoted, then a newer version was
    ],
)
def test_finished_means_decided_and_promoted_when_accepted(
    monkeypatch: pytest.MonkeyPatch, decision: str | None, champion: str | None, finished: bool
) -> None:
    tags = {GATE_DECISION_TAG: decision} if decision else {}
    version = client.ModelVersionRef("m", "3", None, (), tags)
    monkeypatch.setattr(client, "resolve_model_version", lambda uri, name, key: version)
    monkeypatch.setattr(client, "alias_version", lambda uri, name, alias: champion)
    assert client.evaluation_finished("sqlite:///x.db", "m", "3") is finished
