"""The pull through DVC itself, for what :mod:`~airflow_mlops.data.dvc_cache` and
:mod:`~airflow_mlops.data.dvc_checkout` do not do alone: cloud remotes, the registry's default
remote, pipeline outputs and untracked targets. DVC pulls in a scratch clone of the registry at
the commit; the data then moves into place."""

from __future__ import annotations

import logging
import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from airflow_mlops.data.dvc_cache import ObjectStore, Output, file_md5
from airflow_mlops.data.dvc_checkout import make_room
from airflow_mlops.data.dvc_errors import corrupt_objects, diagnose
from airflow_mlops.data.dvc_remote import OVERRIDE_REMOTE, RemoteSpec, check_options_fit
from airflow_mlops.data.git_source import clone
from airflow_mlops.errors import DataError

if TYPE_CHECKING:
    from dvc.repo import Repo


def pull_with_dvc(
    registry: str,
    source: Path,
    commit: str,
    workspace: Path,
    paths: list[str],
    cache: Path,
    remote: RemoteSpec,
    rev: str,
    link_type: str,
    jobs: int | None,
) -> tuple[list[Output], int]:
    """Pull with DVC in a scratch clone inside ``workspace``, then move the data into place."""
    scratch = Path(tempfile.mkdtemp(prefix=".dvc-pull-", dir=workspace))
    clone(source, commit, scratch, registry)
    # DVC hashes what it downloads one object after another, after all downloads; checked
    # here by ETag, else hashed on all cores, a pull from S3 stays near a plain download
    verify_here = bool(remote.url and remote.remote_config().get("verify"))
    with _open_repo(scratch, cache, remote, link_type, dvc_verifies=not verify_here) as repo:
        outs = [_tracked_output(repo, scratch, path, rev) for path in paths]
        fetched = _pull_outputs(repo, scratch, paths, outs, remote, rev, jobs)
        if verify_here:
            _verify_objects(repo, ObjectStore(cache), outs, remote, rev)
    for path in paths:
        make_room(workspace, path)
        (workspace / path).parent.mkdir(parents=True, exist_ok=True)
        os.replace(scratch / path, workspace / path)
    shutil.rmtree(scratch)
    outputs = [
        Output(path, str(out.hash_info.value), out.meta.size, out.meta.nfiles)
        for path, out in zip(paths, outs, strict=True)
    ]
    return outputs, fetched


def _verify_objects(
    repo: Repo, store: ObjectStore, outs: list[Any], remote: RemoteSpec, rev: str
) -> None:
    """Check every object of ``outs`` that DVC placed in the cache (manifests first, then the
    files they list); a corrupt one is deleted and the pull fails with
    :func:`~airflow_mlops.data.dvc_errors.corrupt_objects`.

    An object whose remote ETag is its md5 (what S3 records for a single-part upload, which
    is how DVC pushes objects under 50 MiB) is right without being read: the transfer itself
    is checked by TCP and TLS. Any other object, and any ETag that differs (multipart uploads,
    SSE-KMS, other stores), is hashed, on all cores at once.
    """
    name = remote.name or OVERRIDE_REMOTE
    odb = repo.cloud.get_remote_odb(name)

    def actual_md5(md5: str) -> str | None:
        expected = md5.removesuffix(".dir")
        try:
            etag = str(odb.fs.info(odb.oid_to_path(md5)).get("ETag", "")).strip('"')
        except Exception:  # the store gives no ETag to go by: hash the object instead
            etag = ""
        if etag == expected:
            return expected
        try:
            return file_md5(store.path(md5))
        except FileNotFoundError:
            return None

    def check(md5s: list[str]) -> None:
        with ThreadPoolExecutor(max_workers=max(8, os.cpu_count() or 2)) as pool:
            actual = dict(zip(md5s, pool.map(actual_md5, md5s), strict=True))
        corrupt = []
        for md5, found in actual.items():
            if found != md5.removesuffix(".dir"):
                store.path(md5).unlink(missing_ok=True)
                corrupt.append({"expected": md5, "actual": found, "object": odb.oid_to_path(md5)})
        if corrupt:
            raise corrupt_objects(name, rev, corrupt)

    md5s = [str(out.hash_info.value) for out in outs]
    check(md5s)
    check([entry for md5 in md5s if md5.endswith(".dir") for _, entry in store.manifest(md5)])


@contextmanager
def _open_repo(
    root: Path, cache: Path, remote: RemoteSpec, link_type: str, *, dvc_verifies: bool = True
) -> Iterator[Repo]:
    """The DVC repository at ``root``, reading ``remote`` through ``cache``; with
    ``dvc_verifies`` False, DVC does not hash what it downloads (the caller does)."""
    from dvc.exceptions import DvcException
    from dvc.repo import Repo

    _bind_dvc_console()
    config: dict[str, Any] = {
        "cache": {"dir": str(cache), "type": link_type},
        # per-workspace indexes live (and go) with the workspace, not in /var/tmp
        "core": {"site_cache_dir": str(root / ".dvc" / "tmp" / "site")},
    }
    name, options = remote.name, remote.remote_config()
    if remote.url:
        # a remote defined afresh, so that its options are checked against its URL's scheme
        name = remote.name or OVERRIDE_REMOTE
        check_options_fit(name, remote.url, options)
        if not dvc_verifies:
            options["verify"] = False
        config["remote"] = {name: options}
        config["core"]["remote"] = name
        options = {}
    try:
        repo = Repo(str(root), config=config, remote=name, remote_config=options or None)
    except (DvcException, ValueError) as error:
        raise DataError(
            f"The registry at this revision is not a usable DVC repository: {error}",
            hint="Check that the revision has a .dvc/ directory and the remote name exists.",
        ) from error
    with repo:
        if options:
            configured = name or repo.config["core"].get("remote")
            url = repo.config["remote"].get(configured, {}).get("url")
            if configured and url:
                check_options_fit(configured, url, options)
        yield repo


def _bind_dvc_console() -> None:
    """Point DVC's console log handlers at the current stdout and stderr.

    ``import dvc`` binds them to the streams of that moment. Where those were replaced and
    closed since (a task or test runner running several tasks in one process), DVC's next
    message would raise ``LoggingException`` and hide the real error, e.g. a missing object.
    """
    from dvc.logger import LoggerHandler

    for name in ("dvc", "dvc_objects", "dvc_data"):
        for handler in logging.getLogger(name).handlers:
            if isinstance(handler, LoggerHandler):
                handler.stream = sys.stderr if handler.level >= logging.WARNING else sys.stdout


def _tracked_output(repo: Repo, root: Path, path: str, rev: str) -> Any:
    from dvc.exceptions import OutputNotFoundError

    try:
        outs = repo.find_outs_by_path(str(root / path), strict=True)
    except OutputNotFoundError:
        tracked = sorted(
            str(PurePosixPath(Path(out.fs_path).relative_to(root))) for out in repo.index.outs
        )
        raise DataError(
            f"Target {path!r} is not tracked by DVC at revision {rev!r}.",
            hint=f"Pull one of the tracked outputs: {', '.join(tracked) or '(none)'}.",
            details={"target": path, "tracked": tracked},
        ) from None
    return outs[0]


def _pull_outputs(
    repo: Repo,
    root: Path,
    paths: list[str],
    outs: list[Any],
    remote: RemoteSpec,
    rev: str,
    jobs: int | None,
) -> int:
    from dvc.exceptions import DvcException

    try:
        with _corruption_log() as corrupted:
            stats = repo.pull(targets=[str(root / path) for path in paths], jobs=jobs)
    except (DvcException, OSError) as error:
        raise diagnose(repo, outs, remote, rev, error, corrupted) from error
    return int(stats.get("stats", {}).get("fetched", 0))


@contextmanager
def _corruption_log() -> Iterator[list[str]]:
    """Collect the objects DVC found corrupt (and deleted) while it listed a local remote."""
    corrupted: list[str] = []

    class _Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if record.msg.startswith("corrupted cache file") and record.args:
                corrupted.append(str(record.args[0]))

    logger = logging.getLogger("dvc_data.hashfile.db")
    handler, level, propagate = _Collect(), logger.level, logger.propagate
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    try:
        yield corrupted
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
        logger.propagate = propagate
