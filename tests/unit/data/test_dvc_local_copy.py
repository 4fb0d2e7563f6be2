"""The local-remote copy path places the same files, with the same checksums, as DVC's own pull."""

from __future__ import annotations

import hashlib
from pathlib import Path

from airflow_mlops.data.dvc import pull
from airflow_mlops.data.dvc_remote import RemoteSpec
from airflow_mlops.local.demo.registry import dvc_argv, run_tool


def _registry(root: Path) -> tuple[Path, Path]:
    """A registry tracking a directory (nested, with an empty file) and a single file."""
    repo, remote = root / "repo", root / "remote"
    shards = repo / "data" / "shards"
    (shards / "nested").mkdir(parents=True)
    for index in range(5):
        (shards / f"part-{index}.csv").write_text(f"a,b\n{index},{index * 2}\n" * (index + 1))
    (shards / "nested" / "empty.csv").write_text("")
    (repo / "data" / "single.csv").write_text("x\n1\n2\n")
    run_tool(["git", "init", "-q", "-b", "main"], repo)
    run_tool(dvc_argv("init", "-q"), repo)
    run_tool(dvc_argv("remote", "add", "-d", "store", str(remote)), repo)
    run_tool(dvc_argv("add", "-q", "data/shards", "data/single.csv"), repo)
    run_tool(["git", "add", "data", ".dvc", ".dvcignore"], repo)
    run_tool(["git", "commit", "-q", "-m", "data"], repo)
    run_tool(dvc_argv("push", "-q"), repo)
    return repo, remote


def _files(root: Path) -> dict[str, str]:
    return {
        path.relative_to(root).as_posix(): hashlib.md5(path.read_bytes()).hexdigest()
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


def test_copy_path_and_dvc_give_the_same_files_and_checksums(tmp_path: Path) -> None:
    repo, remote = _registry(tmp_path)
    targets = ["data/shards", "data/single.csv"]
    results, placed = {}, {}
    # an explicit local path takes the copy path; the registry's default remote goes through DVC
    for side, spec in (("copy", RemoteSpec(url=str(remote))), ("dvc", RemoteSpec())):
        results[side] = pull(
            str(repo),
            targets,
            rev="main",
            workspace=tmp_path / f"ws-{side}",
            cache_dir=tmp_path / f"cache-{side}",
            remote=spec,
        )
        placed[side] = {t: _files(tmp_path / f"ws-{side}" / t) for t in ("data/shards",)}
        placed[side]["data/single.csv"] = _files(tmp_path / f"ws-{side}" / "data")["single.csv"]
        assert results[side].fetched > 0

    assert placed["copy"] == placed["dvc"]
    assert len(placed["copy"]["data/shards"]) == 6
    assert [(t.path, t.md5, t.size, t.nfiles) for t in results["copy"].targets] == [
        (t.path, t.md5, t.size, t.nfiles) for t in results["dvc"].targets
    ]
    assert results["copy"].md5 == results["dvc"].md5
    # the caches hold the same objects (the .dir listing included)
    assert _files(tmp_path / "cache-copy") == _files(tmp_path / "cache-dvc")
