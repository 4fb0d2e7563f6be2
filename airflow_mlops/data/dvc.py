"""Pull versioned datasets from a DVC data registry into a workspace, and list their versions.

A pull resolves the revision in the registry's git history (read in place when the registry is
a local repository, else through a bare mirror), writes the registry's files at that commit
into a fresh directory, places the tracked targets there out of a DVC cache shared by every
workspace, and only then swaps the directory in as the workspace
(:func:`~airflow_mlops.artifacts.atomic_directory`): a failed pull leaves the previous
workspace as it was, and two pulls into their own workspaces never touch each other's files.

The targets' md5s come from their ``.dvc`` files. When every object is in the cache, or the
remote is a local directory, no DVC code runs (:mod:`~airflow_mlops.data.dvc_cache` checks,
copies and links the objects, as DVC would); otherwise DVC pulls in a scratch clone: cloud
remotes, the registry's default remote, pipeline outputs, and targets that are not tracked
(DVC lists the tracked ones). Objects enter the cache through a temporary name and a rename,
so concurrent pulls may share one cache.

Files are linked out of the cache (``reflink``, else ``hardlink``, else ``copy``): a repeated
pull of a cached version copies nothing. Hard-linked files are read-only; a task that needs
to modify the data writes a copy.
"""

from __future__ import annotations

import fnmatch
import hashlib
import logging
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from airflow_mlops.artifacts import atomic_directory
from airflow_mlops.data.dvc_cache import (
    ObjectStore,
    ObjectsUnavailable,
    Output,
    checkout,
    link_types,
    make_room,
    read_output,
)
from airflow_mlops.data.git_source import (
    clone,
    export_commit,
    git,
    git_source,
    mirror,
    shown_url,
)
from airflow_mlops.errors import ConfigError, DataError

if TYPE_CHECKING:
    from dvc.repo import Repo

DEFAULT_LINK_TYPE = "reflink,hardlink,copy"
#: parallel copies from a local remote when the caller does not say
LOCAL_JOBS = 4
#: the remote name used when the caller gives a URL but no remote name
OVERRIDE_REMOTE = "airflow-mlops"
#: words in a storage error that mean "the credentials were refused", not "cannot connect"
_AUTH_WORDS = re.compile(
    r"accessdenied|access denied|invalidaccesskeyid|signaturedoesnotmatch|invalidtoken"
    r"|expiredtoken|forbidden|\b403\b|unrecognizedclient|permission",
    re.IGNORECASE,
)
#: URLs in an error message: their hosts and ports are not words (a port 40353 is no 403)
_URL = re.compile(r"[a-z][a-z0-9+.-]*://\S+", re.IGNORECASE)


@dataclass(frozen=True)
class RemoteSpec:
    """Which DVC remote to pull from, and how to reach it.

    :param name: a remote named in the registry's DVC config; None for its default remote.
    :param url: replaces the remote's URL (e.g. a local mirror of it, or another bucket).
    :param config: more DVC remote options (``endpointurl``, ``region``, ``access_key_id``,
        ``secret_access_key``, ``session_token``). Handed to DVC in memory only: never written
        to disk and never shown (it is left out of ``repr``).
    """

    name: str | None = None
    url: str | None = None
    config: Mapping[str, Any] = field(default_factory=dict, repr=False)

    def remote_config(self) -> dict[str, Any]:
        """The options merged over the registry's remote config."""
        options = dict(self.config)
        if self.url:
            options["url"] = self.url
        if self.url and "://" in self.url and not self.url.startswith("file://"):
            options.setdefault("verify", True)
        return options


@dataclass(frozen=True)
class PulledTarget:
    """One pulled target: where it is, its DVC md5 (``.dir`` suffix for a directory), its size."""

    path: str
    local_path: str
    md5: str
    size: int | None
    nfiles: int | None


@dataclass(frozen=True)
class PullResult:
    """What a pull produced: references only, small enough for XCom."""

    registry: str
    rev: str
    commit: str
    workspace: str
    targets: list[PulledTarget]
    fetched: int
    seconds: float

    @property
    def md5(self) -> str:
        """The data's md5: the target's own for one target, else a digest of all of them."""
        if len(self.targets) == 1:
            return self.targets[0].md5
        lines = "".join(f"{t.path}:{t.md5}\n" for t in sorted(self.targets, key=lambda t: t.path))
        return hashlib.md5(lines.encode(), usedforsecurity=False).hexdigest()

    @property
    def size(self) -> int:
        return sum(target.size or 0 for target in self.targets)

    def as_dict(self) -> dict[str, Any]:
        """A JSON-able dict: rev, commit, md5, size, workspace, targets (path, md5, size)."""
        return {
            "registry": self.registry,
            "rev": self.rev,
            "commit": self.commit,
            "md5": self.md5,
            "size": self.size,
            "workspace": self.workspace,
            "targets": [asdict(target) for target in self.targets],
            "fetched": self.fetched,
            "seconds": round(self.seconds, 3),
        }


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


def check_targets(targets: Sequence[str]) -> list[str]:
    """Normalised target paths; :class:`ConfigError` for an empty list or an escaping path."""
    if isinstance(targets, str) or not targets:
        raise ConfigError(
            f"targets={targets!r} must be a non-empty list of paths inside the registry.",
            hint='Pass e.g. ["data/cancer.csv"].',
        )
    clean = []
    for target in targets:
        path = PurePosixPath(str(target))
        if path.is_absolute() or ".." in path.parts or str(path) in ("", "."):
            raise ConfigError(
                f"Target {target!r} is not a relative path inside the registry.",
                hint="Name the file or directory as `dvc add` tracked it, e.g. data/cancer.csv.",
            )
        clean.append(str(path))
    return clean


#: written into every workspace a pull creates; a pull replaces only workspaces that hold it
WORKSPACE_MARKER = ".mlops-workspace"


def check_replaceable(workspace: Path) -> None:
    """Refuse a workspace that exists and holds files no pull wrote (a mistyped path such as
    a home directory must never be replaced)."""
    if workspace.exists() and not workspace.is_dir():
        raise ConfigError(
            f"The workspace {str(workspace)!r} is a file.",
            hint="Give a new or empty directory as workspace (by default each run gets its own).",
        )
    ours = (workspace / WORKSPACE_MARKER).exists()
    if workspace.is_dir() and not ours and any(workspace.iterdir()):
        raise ConfigError(
            f"The workspace {str(workspace)!r} already holds files that no pull wrote; "
            "a pull replaces its workspace as a whole, so it refuses this one.",
            hint="Give a new or empty directory as workspace (by default each run gets "
            "its own under $AIRFLOW_MLOPS_HOME/workspaces).",
        )


def pull(
    registry: str,
    targets: Sequence[str],
    *,
    rev: str,
    workspace: str | os.PathLike[str],
    cache_dir: str | os.PathLike[str],
    remote: RemoteSpec | None = None,
    link_type: str = DEFAULT_LINK_TYPE,
    jobs: int | None = None,
    mirrors_dir: str | os.PathLike[str] | None = None,
) -> PullResult:
    """Pull ``targets`` of ``registry`` at ``rev`` into ``workspace`` through ``cache_dir``.

    :param registry: the data registry: a local git repository path or a git URL.
    :param targets: paths tracked by DVC in the registry (files or directories).
    :param rev: a tag, branch or commit of the registry.
    :param workspace: the directory that receives the registry's files at ``rev`` and the
        data; it is replaced as a whole, and only when the pull succeeded. An existing one must
        be empty or written by an earlier pull (:func:`check_replaceable`).
    :param cache_dir: the DVC cache shared by all workspaces.
    :param remote: which remote, URL and credentials; None for the registry's default.
    :param link_type: DVC ``cache.type``: how files come out of the cache.
    :param jobs: parallel transfers (when None: 4 copies from a local remote, else DVC's
        default).
    :param mirrors_dir: where bare mirrors of registries given by URL are kept; default
        ``git-mirrors`` next to ``cache_dir``.
    :raises DataError: unknown revision, untracked target, unreachable remote, bad
        credentials, objects missing on the remote or corrupt there.
    """
    started = time.perf_counter()
    paths = check_targets(targets)
    link_types(link_type)
    remote = remote or RemoteSpec()
    cache = Path(cache_dir).resolve()
    cache.mkdir(parents=True, exist_ok=True)
    final = Path(workspace).resolve()
    check_replaceable(final)
    source = git_source(registry, Path(mirrors_dir or cache.parent / "git-mirrors"))
    with atomic_directory(final) as tmp:
        commit = export_commit(source, rev, tmp, registry)
        (tmp / WORKSPACE_MARKER).write_text(f"{shown_url(registry)}@{rev} {commit}\n")
        outputs = [read_output(tmp, path) for path in paths]
        fetched = None
        if all(outputs):
            fetched = _checkout_from_cache(outputs, tmp, cache, remote, rev, link_type, jobs)
        if fetched is None:
            outputs, fetched = _pull_with_dvc(
                registry, source, commit, tmp, paths, cache, remote, rev, link_type, jobs
            )
    return PullResult(
        registry=shown_url(registry),
        rev=rev,
        commit=commit,
        workspace=str(final),
        targets=[
            PulledTarget(
                path=out.path,
                local_path=str(final / out.path),
                md5=out.md5,
                size=out.size,
                nfiles=out.nfiles,
            )
            for out in outputs
        ],
        fetched=fetched,
        seconds=time.perf_counter() - started,
    )


def _checkout_from_cache(
    outputs: list[Output],
    workspace: Path,
    cache: Path,
    remote: RemoteSpec,
    rev: str,
    link_type: str,
    jobs: int | None,
) -> int | None:
    """Place ``outputs`` out of the cache, copying missing objects from a local remote; None
    when objects are missing and only DVC can fetch them (a cloud remote or the default)."""
    local = _local_remote(remote)
    try:
        return checkout(
            outputs,
            workspace,
            ObjectStore(cache),
            source=ObjectStore(local) if local else None,
            link_type=link_type,
            jobs=jobs or LOCAL_JOBS,
        )
    except ObjectsUnavailable as unavailable:
        if local is None:
            return None
        name = remote.name or OVERRIDE_REMOTE
        if not local.is_dir():
            raise _unreachable(name, str(local)) from None
        if unavailable.missing:
            raise _missing(name, str(local), rev, unavailable.missing) from None
        raise _corrupt(name, rev, unavailable.corrupt) from None
    except OSError as error:
        raise DataError(
            f"Could not place the data in {workspace}: {error}",
            hint="Check free disk space and the permissions of the cache and workspace.",
        ) from error


def _local_remote(remote: RemoteSpec) -> Path | None:
    """The remote's directory when it is given as an absolute local path with no options."""
    url = remote.url
    if url and not remote.config and "://" not in url and Path(url).is_absolute():
        return Path(url)
    return None


def _pull_with_dvc(
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
    with _open_repo(scratch, cache, remote, link_type) as repo:
        outs = [_tracked_output(repo, scratch, path, rev) for path in paths]
        fetched = _pull_outputs(repo, scratch, paths, outs, remote, rev, jobs)
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


@contextmanager
def _open_repo(root: Path, cache: Path, remote: RemoteSpec, link_type: str) -> Iterator[Repo]:
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
        raise _diagnose(repo, outs, remote, rev, error, corrupted) from error
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


def _diagnose(
    repo: Repo,
    outs: list[Any],
    remote: RemoteSpec,
    rev: str,
    error: Exception,
    corrupted: list[str],
) -> DataError:
    """Why a pull failed: remote unreachable, credentials refused, objects missing or corrupt."""
    name = remote.name or repo.config["core"].get("remote")
    try:
        odb = repo.cloud.get_remote_odb(name)
        url = repo.config["remote"][name]["url"]
        reachable = odb.fs.exists(odb.path)
    except Exception as probe_error:
        if _is_auth_error(probe_error):
            return DataError(
                f"The DVC remote {name!r} refused the credentials: {probe_error}",
                hint="Check the AWS connection's key pair (or session token) and that it may "
                "read the bucket.",
                details={"remote": name, "kind": "bad_credentials"},
            )
        return DataError(
            f"The DVC remote {name!r} is unreachable: {probe_error}",
            hint="Check the remote URL, endpoint and network, then retry.",
            details={"remote": name, "kind": "remote_unreachable"},
        )
    if not reachable:
        return _unreachable(name, url)
    missing, corrupt = [], []
    for out in outs:
        md5 = str(out.hash_info.value)
        object_path = odb.oid_to_path(md5)
        if object_path in corrupted:
            # DVC hashes the objects of a local remote as it lists them, and deletes bad ones
            corrupt.append({"expected": md5, "actual": None, "object": object_path})
        elif not odb.fs.exists(object_path):
            missing.append(md5)
        elif not md5.endswith(".dir"):
            actual = _remote_md5(odb.fs, object_path)
            if actual != md5:
                corrupt.append({"expected": md5, "actual": actual, "object": object_path})
    if missing:
        return _missing(name, url, rev, missing)
    if corrupt:
        return _corrupt(name, rev, corrupt)
    return DataError(
        f"DVC pull of revision {rev!r} from remote {name!r} failed: {error}",
        hint="Read the DVC message above; run `dvc pull -v` in a checkout for details.",
        details={"remote": name, "kind": "pull_failed"},
    )


def _unreachable(name: str, url: str) -> DataError:
    return DataError(
        f"The DVC remote {name!r} at {url!r} does not exist or cannot be read.",
        hint="Check the remote URL (`dvc remote list` in the registry), or pass remote_url.",
        details={"remote": name, "url": url, "kind": "remote_unreachable"},
    )


def _missing(name: str, url: str, rev: str, missing: list[str]) -> DataError:
    return DataError(
        f"Objects {', '.join(missing)} of revision {rev!r} are missing on remote {name!r} ({url}).",
        hint="Run `dvc push` in the registry for that revision, then retry.",
        details={"remote": name, "missing": missing, "kind": "object_missing"},
    )


def _corrupt(name: str, rev: str, corrupt: list[dict[str, Any]]) -> DataError:
    first = corrupt[0]
    actual = f"is {first['actual']}" if first["actual"] else "does not match (DVC deleted it)"
    return DataError(
        f"Object {first['object']} on remote {name!r} is corrupt: its md5 {actual}, "
        f"expected {first['expected']} (revision {rev!r}).",
        hint="Delete the object on the remote and `dvc push` it again from a good copy.",
        details={"remote": name, "corrupt": corrupt, "kind": "checksum_mismatch"},
    )


def _is_auth_error(error: BaseException) -> bool:
    """Whether a storage error says the credentials were refused (not that it cannot connect)."""
    text = _URL.sub("<url>", f"{type(error).__name__} {error}")
    return isinstance(error, PermissionError) or _AUTH_WORDS.search(text) is not None


def _remote_md5(fs: Any, path: str) -> str:
    digest = hashlib.md5(usedforsecurity=False)
    with fs.open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


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
