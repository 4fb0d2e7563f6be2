"""Listing a target's versions from the registry's refs, and picking the unseen ones."""

from __future__ import annotations

import subprocess
from pathlib import Path

from airflow_mlops.data.git_source import git
from airflow_mlops.data.versions import DataVersion, list_versions, new_versions

TARGET = "data/cancer.csv"


def test_list_versions_reads_tags_and_branches(demo_registry, tmp_path: Path) -> None:
    tags = list_versions(str(demo_registry.repo), TARGET, mirrors_dir=tmp_path)
    heads = list_versions(
        str(demo_registry.repo), TARGET, refs="refs/heads/main", mirrors_dir=tmp_path
    )

    assert [v.rev for v in tags] == ["v1", "v2", "v3-drift", "v4-corrupt"]
    assert [v.commit for v in tags] == [
        git(["rev-parse", f"{v.rev}^{{commit}}"], demo_registry.repo).strip() for v in tags
    ]
    assert heads == [
        DataVersion("refs/heads/main", "main", tags[0].commit, tags[0].md5, tags[0].size)
    ]


def test_list_versions_sees_a_new_tag_after_the_first_call(demo_registry, tmp_path) -> None:
    before = list_versions(
        str(demo_registry.repo), TARGET, refs="refs/tags/v*", mirrors_dir=tmp_path
    )
    subprocess.run(["git", "tag", "v5", "v2"], cwd=demo_registry.repo, check=True)
    after = list_versions(
        str(demo_registry.repo), TARGET, refs="refs/tags/v*", mirrors_dir=tmp_path
    )

    assert len(after) == len(before) + 1
    (v5,) = [v for v in after if v.rev == "v5"]
    assert (v5.commit, v5.md5) == (before[1].commit, before[1].md5)
    # v5 re-tags v2's content: not new once v2 was processed
    processed = {v.md5 for v in before if v.rev in ("v1", "v2")}
    assert [v.rev for v in new_versions(after, processed)] == ["v3-drift", "v4-corrupt"]


def test_new_versions_keeps_the_newest_ref_per_md5() -> None:
    a = DataVersion("refs/tags/a", "a", "c1", "m1", 1)
    b = DataVersion("refs/tags/b", "b", "c2", "m2", 1)
    c = DataVersion("refs/tags/c", "c", "c1", "m1", 1)
    assert new_versions([a, b, c], set()) == [b, c]
    assert new_versions([a, b, c], {"m1", "m2"}) == []
