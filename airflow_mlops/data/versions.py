"""The versions of a tracked target: the git refs of the registry that name it, read from its
``.dvc`` file at each ref (no data is downloaded)."""

from __future__ import annotations

import fnmatch
import os
import subprocess
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from airflow_mlops.data.dvc import check_targets
from airflow_mlops.data.git_source import git, mirror


@dataclass(frozen=True)
class DataVersion:
    """A version of a tracked target as a git ref of the registry names it."""

    ref: str
    rev: str
    commit: str
    md5: str
    size: int | None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def list_versions(
    registry: str,
    target: str,
    *,
    refs: str = "refs/tags/*",
    mirrors_dir: str | os.PathLike[str],
) -> list[DataVersion]:
    """The versions of ``target`` at the refs matching ``refs``, oldest commit first.

    Reads each ref's ``<target>.dvc`` file from a bare git mirror of the registry (no data is
    downloaded); refs where the target is not tracked are skipped.

    :param registry: the data registry: a local git repository path or a git URL.
    :param target: a path tracked with ``dvc add`` (its ``.dvc`` file sits next to it).
    :param refs: a glob over full ref names: ``refs/tags/v*``, ``refs/heads/main``, ...
    :param mirrors_dir: where bare mirrors of registries are kept between calls.
    """
    import yaml

    (path,) = check_targets([target])
    mirror_dir = mirror(registry, Path(mirrors_dir))
    listing = git(
        [
            "for-each-ref",
            "--sort=creatordate",
            "--format=%(refname) %(objectname) %(*objectname)",
            "refs/tags",
            "refs/heads",
        ],
        mirror_dir,
    )
    versions = []
    for line in listing.splitlines():
        ref, obj, *peeled = line.split()
        if not fnmatch.fnmatchcase(ref, refs):
            continue
        commit = peeled[0] if peeled else obj
        shown = subprocess.run(
            ["git", "show", f"{commit}:{path}.dvc"],
            cwd=mirror_dir,
            capture_output=True,
            text=True,
            check=False,
        )
        if shown.returncode != 0:
            continue
        out = (yaml.safe_load(shown.stdout) or {}).get("outs", [{}])[0]
        if "md5" not in out:
            continue
        rev = ref.removeprefix("refs/tags/").removeprefix("refs/heads/")
        versions.append(DataVersion(ref, rev, commit, str(out["md5"]), out.get("size")))
    return versions


def new_versions(versions: Sequence[DataVersion], processed: set[str]) -> list[DataVersion]:
    """The versions whose md5 is not in ``processed`` (one per md5, the newest ref kept)."""
    latest: dict[str, DataVersion] = {}
    for version in versions:
        if version.md5 not in processed:
            latest.pop(version.md5, None)
            latest[version.md5] = version
    return list(latest.values())
