"""Pull versioned datasets from a DVC data registry into a workspace.

A pull resolves the revision in the registry's git history (read in place when the registry is
a local repository, else through a bare mirror), writes the registry's files at that commit
into a fresh directory, places the tracked targets there out of a DVC cache shared by every
workspace, and only then swaps the directory in as the workspace
(:func:`~airflow_mlops.artifacts.atomic_directory`): a failed pull leaves the previous
workspace as it was, and two pulls into their own workspaces never touch each other's files.

The targets' md5s come from their ``.dvc`` files. When every object is in the cache, or the
remote is a local directory, no DVC code runs (:mod:`~airflow_mlops.data.dvc_cache` checks and
copies the objects, :mod:`~airflow_mlops.data.dvc_checkout` links them, as DVC would);
otherwise DVC pulls in a scratch clone (:mod:`~airflow_mlops.data.dvc_repo`): cloud remotes,
the registry's default remote, pipeline outputs, and targets that are not tracked (DVC lists
the tracked ones). Objects enter the cache through a temporary name and a rename, so
concurrent pulls may share one cache.

Files are linked out of the cache (``reflink``, else ``hardlink``, else ``copy``): a repeated
pull of a cached version copies nothing. Hard-linked files are read-only; a task that needs
to modify the data writes a copy.

The remote and its credentials are a :class:`~airflow_mlops.data.dvc_remote.RemoteSpec`; a
failed pull is explained by :mod:`~airflow_mlops.data.dvc_errors`; a target's versions are
listed by :mod:`~airflow_mlops.data.versions`.
"""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from airflow_mlops.artifacts import atomic_directory
from airflow_mlops.data.dvc_remote import OVERRIDE_REMOTE, RemoteSpec, local_remote
from airflow_mlops.errors import ConfigError, DataError

if TYPE_CHECKING:
    from airflow_mlops.data.dvc_cache import Output

DEFAULT_LINK_TYPE = "reflink,hardlink,copy"
#: parallel copies from a local remote when the caller does not say
LOCAL_JOBS = 4


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


def check_targets(targets: Sequence[str]) -> list[str]:
    """Normalised target paths; :class:`ConfigError` for an empty list or an escaping path."""
    if isinstance(targets, str) or not targets:
        raise ConfigError(
            f"targets={targets!r} must be a non-empty list of paths inside the registry.",
            hint='Pass e.g. ["data/train.csv"].',
        )
    clean = []
    for target in targets:
        path = PurePosixPath(str(target))
        if path.is_absolute() or ".." in path.parts or str(path) in ("", "."):
            raise ConfigError(
                f"Target {target!r} is not a relative path inside the registry.",
                hint="Name the file or directory as `dvc add` tracked it, e.g. data/train.csv.",
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
    # the pull's machinery loads here, not when an operator module imports this one at DAG parse
    from airflow_mlops.data.dvc_cache import read_output
    from airflow_mlops.data.dvc_checkout import link_types
    from airflow_mlops.data.dvc_repo import pull_with_dvc
    from airflow_mlops.data.git_source import export_commit, git_source, shown_url

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
            outputs, fetched = pull_with_dvc(
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
    from airflow_mlops.data.dvc_cache import ObjectStore, ObjectsUnavailable
    from airflow_mlops.data.dvc_checkout import checkout
    from airflow_mlops.data.dvc_errors import corrupt_objects, missing_objects, unreachable

    local = local_remote(remote)
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
            raise unreachable(name, str(local)) from None
        if unavailable.missing:
            raise missing_objects(name, str(local), rev, unavailable.missing) from None
        raise corrupt_objects(name, rev, unavailable.corrupt) from None
    except OSError as error:
        raise DataError(
            f"Could not place the data in {workspace}: {error}",
            hint="Check free disk space and the permissions of the cache and workspace.",
        ) from error
