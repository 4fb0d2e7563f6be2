"""DVC pull against a real registry (git + DVC) with a local remote."""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from airflow_mlops.data.dvc import check_targets, pull
from airflow_mlops.data.dvc_remote import RemoteSpec
from airflow_mlops.data.versions import list_versions
from airflow_mlops.errors import ConfigError, DataError

TARGET = "data/cancer.csv"


def _md5(path: Path) -> str:
    return hashlib.md5(path.read_bytes(), usedforsecurity=False).hexdigest()


def _commit(repo: Path, rev: str) -> str:
    return subprocess.run(
        ["git", "rev-parse", f"{rev}^{{commit}}"], cwd=repo, capture_output=True, text=True
    ).stdout.strip()


def _pull(registry, tmp_path: Path, rev: str = "v1", name: str = "ws", **kwargs):
    return pull(
        str(registry.repo),
        kwargs.pop("targets", [TARGET]),
        rev=rev,
        workspace=tmp_path / name,
        cache_dir=kwargs.pop("cache_dir", tmp_path / "cache"),
        remote=kwargs.pop("remote", RemoteSpec(url=str(registry.remote))),
        **kwargs,
    )


def _remote_object(registry, md5: str) -> Path:
    return registry.remote / "files" / "md5" / md5[:2] / md5[2:]


def test_pull_checks_out_the_tagged_version_with_its_md5(demo_registry, tmp_path: Path) -> None:
    result = _pull(demo_registry, tmp_path, rev="v1")

    local = Path(result.targets[0].local_path)
    assert local == tmp_path / "ws" / TARGET
    assert _md5(local) == result.md5 == result.targets[0].md5
    assert result.commit == _commit(demo_registry.repo, "v1")
    assert result.size == local.stat().st_size
    assert len(local.read_text().splitlines()) == 401
    payload = result.as_dict()
    assert json.loads(json.dumps(payload)) == payload
    assert {"rev", "commit", "md5", "size", "targets", "workspace"} <= payload.keys()


def test_pull_by_branch_and_by_commit(demo_registry, tmp_path: Path) -> None:
    branch = _pull(demo_registry, tmp_path, rev="corrupt-delivery", name="branch")
    sha = _commit(demo_registry.repo, "v2")
    by_sha = _pull(demo_registry, tmp_path, rev=sha[:10], name="sha")

    assert branch.commit == _commit(demo_registry.repo, "v4-corrupt")
    assert by_sha.commit == sha
    assert by_sha.md5 != branch.md5


def test_repeated_pull_of_a_cached_version_fetches_nothing(demo_registry, tmp_path) -> None:
    first = _pull(demo_registry, tmp_path, name="one")
    again = _pull(demo_registry, tmp_path, name="two")

    assert first.fetched == 1
    assert again.fetched == 0
    assert again.seconds < 1.5
    assert _md5(Path(again.targets[0].local_path)) == first.md5


def test_pull_replaces_the_workspace_with_the_new_version(demo_registry, tmp_path) -> None:
    _pull(demo_registry, tmp_path, rev="v1")
    newer = _pull(demo_registry, tmp_path, rev="v3-drift")

    assert _md5(tmp_path / "ws" / TARGET) == newer.md5
    assert len((tmp_path / "ws" / TARGET).read_text().splitlines()) == 870


def test_a_directory_no_pull_wrote_is_never_replaced(demo_registry, tmp_path) -> None:
    (tmp_path / "ws").mkdir()
    (tmp_path / "ws" / "notes.txt").write_text("mine")
    with pytest.raises(ConfigError, match="already holds files that no pull wrote"):
        _pull(demo_registry, tmp_path, rev="v1")
    assert [p.name for p in (tmp_path / "ws").iterdir()] == ["notes.txt"]

    (tmp_path / "ws" / "notes.txt").unlink()  # an empty directory is fine
    assert _pull(demo_registry, tmp_path, rev="v1").commit


def test_unknown_revision_names_the_known_tags(demo_registry, tmp_path: Path) -> None:
    with pytest.raises(DataError, match="'v9' does not exist") as caught:
        _pull(demo_registry, tmp_path, rev="v9")

    assert "v3-drift" in caught.value.hint
    assert not (tmp_path / "ws").exists()


def test_unreachable_remote(demo_registry, tmp_path: Path) -> None:
    remote = RemoteSpec(url=str(tmp_path / "no-such-remote"))
    with pytest.raises(DataError, match="does not exist or cannot be read") as caught:
        _pull(demo_registry, tmp_path, remote=remote)

    assert caught.value.details["kind"] == "remote_unreachable"


@pytest.mark.parametrize("url", [False, True])
def test_aws_credentials_on_a_local_remote_are_named_not_unreachable(
    demo_registry, tmp_path: Path, url: bool
) -> None:
    """An AWS connection on the registry's local remote, or on a local remote_url."""
    aws = {"access_key_id": "a", "secret_access_key": "b", "region": "us-east-1"}
    remote = RemoteSpec(url=str(demo_registry.remote) if url else None, config=aws)
    with pytest.raises(DataError, match="is a local directory; aws_conn_id applies to s3://"):
        _pull(demo_registry, tmp_path, remote=remote)


def test_object_missing_on_the_remote_keeps_the_previous_workspace(
    demo_registry, tmp_path: Path
) -> None:
    previous = _pull(demo_registry, tmp_path, rev="v1", cache_dir=tmp_path / "cache-a")
    v2 = list_versions(str(demo_registry.repo), TARGET, mirrors_dir=tmp_path / "m")[1]
    _remote_object(demo_registry, v2.md5).unlink()

    with pytest.raises(DataError, match="missing on remote") as caught:
        _pull(demo_registry, tmp_path, rev="v2", cache_dir=tmp_path / "cache-b")

    assert caught.value.details["missing"] == [v2.md5]
    assert caught.value.details["kind"] == "object_missing"
    assert _md5(tmp_path / "ws" / TARGET) == previous.md5
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".ws")] == []


def _edit_in_place(stored: Path) -> None:
    stored.chmod(0o644)
    stored.write_text(stored.read_text().replace("north", "nurth"))


def _truncate_read_only(stored: Path) -> None:
    """Damage that keeps the mode DVC trusts: only the size recorded in the .dvc file shows it."""
    stored.chmod(0o644)
    stored.write_bytes(stored.read_bytes()[:-10])
    stored.chmod(0o444)


@pytest.mark.parametrize("damage", [_edit_in_place, _truncate_read_only])
def test_corrupt_object_on_the_remote_is_a_checksum_mismatch(
    demo_registry, tmp_path, damage
) -> None:
    v2 = list_versions(str(demo_registry.repo), TARGET, mirrors_dir=tmp_path / "m")[1]
    stored = _remote_object(demo_registry, v2.md5)
    damage(stored)

    with pytest.raises(DataError, match="is corrupt") as caught:
        _pull(demo_registry, tmp_path, rev="v2")

    (mismatch,) = caught.value.details["corrupt"]
    assert caught.value.details["kind"] == "checksum_mismatch"
    assert mismatch["expected"] == v2.md5
    assert mismatch["actual"] == _md5(stored)  # left on the remote for inspection
    assert not (tmp_path / "ws").exists()
    assert not list((tmp_path / "cache").rglob("*.tmp"))


def _pull_in_process(args: tuple[str, str | None, str, str, str]) -> str:
    repo, remote, rev, workspace, cache = args
    result = pull(
        repo, [TARGET], rev=rev, workspace=workspace, cache_dir=cache, remote=RemoteSpec(url=remote)
    )
    return result.md5


def test_concurrent_pulls_into_own_workspaces_share_one_cache(demo_registry, tmp_path) -> None:
    # b has no remote URL, so DVC pulls it (from the registry's default remote) while a and c
    # copy from the local remote themselves: both ways of writing the cache run side by side
    jobs = [
        (str(demo_registry.repo), remote, rev, str(tmp_path / name), str(tmp_path / "cache"))
        for rev, name, remote in [
            ("v3-drift", "a", str(demo_registry.remote)),
            ("v3-drift", "b", None),
            ("v2", "c", str(demo_registry.remote)),
        ]
    ]
    with multiprocessing.get_context("spawn").Pool(3) as pool:
        md5s = pool.map(_pull_in_process, jobs)

    assert md5s[0] == md5s[1] != md5s[2]
    for (_, _, _, workspace, _), md5 in zip(jobs, md5s, strict=True):
        assert _md5(Path(workspace) / TARGET) == md5
    objects = [p for p in (tmp_path / "cache" / "files" / "md5").rglob("*") if p.is_file()]
    assert sorted(_md5(p) for p in objects) == sorted({md5s[0], md5s[2]})


@pytest.mark.parametrize("targets", [[], "data/cancer.csv", ["../etc/passwd"], ["/abs"]])
def test_check_targets_refuses_bad_paths(targets) -> None:
    with pytest.raises(ConfigError):
        check_targets(targets)


def test_workspace_copy_is_independent_of_the_cache(demo_registry, tmp_path: Path) -> None:
    result = _pull(demo_registry, tmp_path, link_type="copy")
    local = Path(result.targets[0].local_path)
    assert local.stat().st_nlink == 1
    shutil.rmtree(tmp_path / "cache")
    assert _md5(local) == result.md5


def test_workspace_holds_the_registry_files_and_read_only_links(demo_registry, tmp_path) -> None:
    result = _pull(demo_registry, tmp_path, link_type="hardlink")

    workspace = tmp_path / "ws"
    local = Path(result.targets[0].local_path)
    cached = tmp_path / "cache" / "files" / "md5" / result.md5[:2] / result.md5[2:]
    assert (workspace / f"{TARGET}.dvc").is_file() and (workspace / ".dvc" / "config").is_file()
    assert not (workspace / ".git").exists()
    assert local.stat().st_ino == cached.stat().st_ino
    assert local.stat().st_mode & 0o777 == 0o444


def test_cached_pull_does_not_need_the_remote(demo_registry, tmp_path: Path) -> None:
    first = _pull(demo_registry, tmp_path, name="one")
    gone = RemoteSpec(url=str(tmp_path / "no-such-remote"))
    again = _pull(demo_registry, tmp_path, name="two", remote=gone)

    assert again.fetched == 0
    assert _md5(Path(again.targets[0].local_path)) == first.md5


@pytest.mark.parametrize("damage", [_edit_in_place, _truncate_read_only])
def test_damaged_cache_object_is_fetched_again(demo_registry, tmp_path: Path, damage) -> None:
    first = _pull(demo_registry, tmp_path, name="one", link_type="copy")
    damage(tmp_path / "cache" / "files" / "md5" / first.md5[:2] / first.md5[2:])

    again = _pull(demo_registry, tmp_path, name="two", link_type="copy")

    assert again.fetched == 1
    assert _md5(Path(again.targets[0].local_path)) == first.md5


def test_unknown_link_type_is_refused(demo_registry, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not a DVC cache"):
        _pull(demo_registry, tmp_path, link_type="hardlink,teleport")


def test_registry_url_is_read_through_a_mirror(demo_registry, tmp_path: Path) -> None:
    url = demo_registry.repo.as_uri()
    result = pull(
        url,
        [TARGET],
        rev="v2",
        workspace=tmp_path / "ws",
        cache_dir=tmp_path / "cache",
        remote=RemoteSpec(url=str(demo_registry.remote)),
    )

    assert result.commit == _commit(demo_registry.repo, "v2")
    assert list((tmp_path / "git-mirrors").glob("*.git"))
    assert _md5(Path(result.targets[0].local_path)) == result.md5


@pytest.fixture(scope="module")
def dir_registry(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, dict[str, bytes]]:
    """A registry whose ``data/images`` directory (nested, two files alike) is pushed to a
    local remote; yields (repo, remote, {relpath: content})."""
    from airflow_mlops.local.demo.registry import dvc_argv, run_tool

    root = tmp_path_factory.mktemp("dir-registry")
    repo, remote = root / "repo", root / "remote"
    files = {"a.txt": b"alpha\n", "b.txt": b"alpha\n", "sub/c.bin": bytes(range(256)) * 99}
    for relpath, content in files.items():
        (repo / "data" / "images" / relpath).parent.mkdir(parents=True, exist_ok=True)
        (repo / "data" / "images" / relpath).write_bytes(content)
    run_tool(["git", "init", "-q", "-b", "main"], repo)
    run_tool(dvc_argv("init", "-q"), repo)
    run_tool(dvc_argv("remote", "add", "-d", "local", str(remote)), repo)
    run_tool(dvc_argv("add", "-q", "data/images"), repo)
    run_tool(["git", "add", "-A"], repo)
    run_tool(["git", "commit", "-q", "-m", "images"], repo)
    run_tool(dvc_argv("push", "-q"), repo)
    return repo, remote, files


def test_directory_target_is_placed_file_by_file(dir_registry, tmp_path: Path) -> None:
    repo, remote, files = dir_registry
    kwargs = {"rev": "main", "cache_dir": tmp_path / "cache", "remote": RemoteSpec(url=str(remote))}
    cold = pull(str(repo), ["data/images"], workspace=tmp_path / "one", **kwargs)
    warm = pull(str(repo), ["data/images"], workspace=tmp_path / "two", **kwargs)

    (target,) = warm.targets
    placed = Path(target.local_path)
    assert {p.relative_to(placed).as_posix(): p.read_bytes() for p in placed.rglob("*.*")} == files
    assert target.md5.endswith(".dir") and target.nfiles == 3
    assert target.size == sum(len(content) for content in files.values())
    assert (cold.fetched, warm.fetched) == (3, 0)  # the manifest and two distinct files


def test_directory_with_a_missing_file_object(dir_registry, tmp_path: Path) -> None:
    repo, remote, files = dir_registry
    broken = tmp_path / "remote"
    shutil.copytree(remote, broken)
    c_md5 = hashlib.md5(files["sub/c.bin"], usedforsecurity=False).hexdigest()
    (broken / "files" / "md5" / c_md5[:2] / c_md5[2:]).unlink()

    with pytest.raises(DataError, match="missing on remote") as caught:
        pull(
            str(repo),
            ["data/images"],
            rev="main",
            workspace=tmp_path / "ws",
            cache_dir=tmp_path / "cache",
            remote=RemoteSpec(url=str(broken)),
        )

    assert caught.value.details["missing"] == [c_md5]
    assert not (tmp_path / "ws").exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".ws")] == []


def test_directory_file_damaged_in_the_cache_is_fetched_again(dir_registry, tmp_path) -> None:
    repo, remote, files = dir_registry
    kwargs = {"rev": "main", "cache_dir": tmp_path / "cache", "remote": RemoteSpec(url=str(remote))}
    pull(str(repo), ["data/images"], workspace=tmp_path / "one", link_type="copy", **kwargs)
    c_md5 = hashlib.md5(files["sub/c.bin"], usedforsecurity=False).hexdigest()
    # a directory's entries carry no size: only the total in the .dvc file shows this damage
    _truncate_read_only(tmp_path / "cache" / "files" / "md5" / c_md5[:2] / c_md5[2:])

    again = pull(str(repo), ["data/images"], workspace=tmp_path / "two", **kwargs)

    assert again.fetched == 1
    assert (Path(again.targets[0].local_path) / "sub" / "c.bin").read_bytes() == files["sub/c.bin"]


@pytest.fixture
def http_registry(demo_registry, tmp_path: Path) -> Iterator[str]:
    """The demo registry served over git's dumb HTTP protocol on loopback; the URL it returns
    carries credentials (which this server does not check)."""
    import functools
    import http.server
    import threading

    served = tmp_path / "srv"
    bare = served / "registry.git"
    subprocess.run(["git", "clone", "-q", "--bare", str(demo_registry.repo), str(bare)], check=True)
    subprocess.run(["git", "update-server-info"], cwd=bare, check=True)

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

    handler = functools.partial(Quiet, directory=str(served))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://ci-bot:{TOKEN}@127.0.0.1:{server.server_port}/registry.git"
    server.shutdown()


TOKEN = "tok-3b8f0c2e9d7a41c6"


def test_credentials_in_a_registry_url_are_used_but_never_shown(
    demo_registry, http_registry: str, tmp_path: Path
) -> None:
    remote = RemoteSpec(url=str(demo_registry.remote))
    common = {"cache_dir": tmp_path / "cache", "remote": remote}
    first = pull(http_registry, [TARGET], rev="v1", workspace=tmp_path / "ws", **common)
    second = pull(http_registry, [TARGET], rev="v2", workspace=tmp_path / "ws", **common)
    with pytest.raises(DataError) as unknown:
        pull(http_registry, [TARGET], rev="v9", workspace=tmp_path / "ws", **common)

    assert (first.commit, second.commit) == (
        _commit(demo_registry.repo, "v1"),
        _commit(demo_registry.repo, "v2"),
    )
    assert first.registry == http_registry.replace(TOKEN, "***")
    shown = [json.dumps(r.as_dict()) for r in (first, second)] + [str(unknown.value)]
    assert not [text for text in shown if TOKEN in text]
    written = [p for p in tmp_path.rglob("*") if p.is_file() and "srv" not in p.parts]
    assert any(p.name == "config" and "***@" in p.read_text() for p in written)  # the mirror's
    assert not [p for p in written if TOKEN.encode() in p.read_bytes()]
