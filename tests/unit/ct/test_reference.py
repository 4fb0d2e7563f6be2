"""The validation reference chosen at run time: named, the champion's data, the first version."""

from __future__ import annotations

import pytest

from airflow_mlops.ct import reference
from airflow_mlops.data.versions import DataVersion
from airflow_mlops.errors import ConfigError
from airflow_mlops.lineage import DATA_COMMIT_TAG, DATA_REV_TAG

COMMIT = "a" * 40


def resolve(monkeypatch: pytest.MonkeyPatch, named, tags, refs) -> reference.Reference:
    listed: list[str] = []

    def versions(registry, target, *, refs="refs/tags/*", mirrors_dir):
        listed.append(refs)
        return [DataVersion(f"x/{r}", r, COMMIT, "b" * 32, 1) for r in found.get(refs, [])]

    found = refs
    monkeypatch.setattr(reference, "champion_tags", lambda uri, name: tags)
    monkeypatch.setattr("airflow_mlops.data.versions.list_versions", versions)
    return reference.resolve_reference(
        named, tracking_uri="http://m", model_name="m", registry="/r", target="d.csv",
        mirrors_dir="/tmp/mirrors",
    )  # fmt: skip


def test_a_named_revision_wins(monkeypatch: pytest.MonkeyPatch) -> None:
    got = resolve(monkeypatch, "2024-q1", {DATA_COMMIT_TAG: COMMIT}, {})
    assert got == reference.Reference("2024-q1", "named")


def test_the_champion_lineage_names_the_version(monkeypatch: pytest.MonkeyPatch) -> None:
    got = resolve(monkeypatch, None, {DATA_COMMIT_TAG: COMMIT, DATA_REV_TAG: "main"}, {})
    assert got == reference.Reference(COMMIT, "champion")
    got = resolve(monkeypatch, None, {DATA_REV_TAG: "2024-q2"}, {})
    assert got == reference.Reference("2024-q2", "champion")


def test_without_a_champion_the_first_tag_then_the_first_branch(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    tags = {"refs/tags/*": ["first", "second"]}
    assert resolve(monkeypatch, None, None, tags) == reference.Reference("first", "first_version")
    # a champion without data lineage counts as none
    assert resolve(monkeypatch, None, {}, tags).rev == "first"
    branches = {"refs/heads/*": ["main"]}
    assert resolve(monkeypatch, None, None, branches).rev == "main"


def test_nothing_to_learn_from_says_what_to_do(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ConfigError, match="No validation reference") as refused:
        resolve(monkeypatch, None, None, {})
    assert "validation_reference_rev" in refused.value.hint
