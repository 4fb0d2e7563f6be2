"""Place DVC outputs in a workspace out of the cache: link each file (``reflink``, else
``hardlink``, else ``copy``, as DVC's ``cache.type`` says), after copying missing objects in
(:class:`~airflow_mlops.data.dvc_cache.ObjectStore`)."""

from __future__ import annotations

import fcntl
import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

from airflow_mlops.data.dvc_cache import ObjectStore, Output
from airflow_mlops.errors import ConfigError, DataError

_FICLONE = 0x40049409  # Linux ioctl: the new file shares the source's blocks (btrfs, XFS)


def _reflink(source: Path, dest: Path) -> None:
    with source.open("rb") as reader, dest.open("xb") as writer:
        fcntl.ioctl(writer.fileno(), _FICLONE, reader.fileno())


LINKERS: dict[str, Callable[[Path, Path], Any]] = {
    "reflink": _reflink,
    "hardlink": os.link,
    "symlink": os.symlink,
    "copy": shutil.copyfile,
}


def link_types(link_type: str) -> list[str]:
    """The link types of a DVC ``cache.type`` value (``"reflink,hardlink,copy"``), checked."""
    kinds = [kind.strip() for kind in link_type.split(",") if kind.strip()]
    unknown = [kind for kind in kinds if kind not in LINKERS]
    if not kinds or unknown:
        raise ConfigError(
            f"link_type={link_type!r} is not a DVC cache.type.",
            hint=f"Use a comma-separated list of {', '.join(LINKERS)}.",
        )
    return kinds


class _Linker:
    """Links files out of the cache with the first link type that works, remembered."""

    def __init__(self, kinds: list[str]) -> None:
        self.kinds = kinds

    def __call__(self, source: Path, dest: Path) -> None:
        for index, kind in enumerate(self.kinds):
            try:
                LINKERS[kind](source, dest)
            except OSError:
                if index == len(self.kinds) - 1:
                    raise
                dest.unlink(missing_ok=True)
                continue
            self.kinds = self.kinds[index:]
            return


def checkout(
    outputs: list[Output],
    workspace: Path,
    cache: ObjectStore,
    *,
    source: ObjectStore | None,
    link_type: str,
    jobs: int,
) -> int:
    """Place ``outputs`` under ``workspace`` out of ``cache``, copying missing objects in from
    ``source`` first; returns how many objects were copied.

    :raises ObjectsUnavailable: objects are missing (everywhere when ``source`` is None) or
        corrupt in ``source``; nothing is placed then.
    """
    linker = _Linker(link_types(link_type))
    copied = cache.fill({out.md5: out.size for out in outputs if out.is_dir}, source, jobs)
    files: dict[Path, str] = {}
    wanted: dict[str, int | None] = {}
    for out in outputs:
        if out.is_dir:
            entries = cache.manifest(out.md5)
            files.update((workspace / out.path / rel, md5) for rel, md5 in entries)
            wanted.update((md5, None) for _, md5 in entries)
        else:
            files[workspace / out.path] = out.md5
            wanted[out.md5] = out.size
    copied += cache.fill(wanted, source, jobs)
    for out in outputs:
        if out.is_dir and out.size is not None:
            copied += _check_dir_size(out, cache, source, jobs)
        make_room(workspace, out.path)
    for dest, md5 in files.items():
        dest.parent.mkdir(parents=True, exist_ok=True)
        linker(cache.path(md5), dest)
    return copied


def _check_dir_size(out: Output, cache: ObjectStore, source: ObjectStore | None, jobs: int) -> int:
    """Re-hash a directory's objects when their sizes do not add up to the recorded size."""
    md5s = [md5 for _, md5 in cache.manifest(out.md5)]
    if sum(cache.path(md5).stat().st_size for md5 in md5s) == out.size:
        return 0
    copied = cache.fill(dict.fromkeys(md5s), source, jobs, rehash=True)
    total = sum(cache.path(md5).stat().st_size for md5 in md5s)
    if total != out.size:
        raise DataError(
            f"The files of {out.path!r} ({out.md5}) add up to {total} bytes, but its .dvc file "
            f"records {out.size}.",
            hint="The .dvc file and the directory manifest disagree; fix the registry.",
        )
    return copied


def make_room(workspace: Path, relpath: str) -> None:
    """Make room for an output at ``workspace / relpath``, which must stay inside it."""
    path = workspace / relpath
    if not path.parent.resolve().is_relative_to(workspace.resolve()):
        raise DataError(
            f"Output {relpath!r} would be written outside the workspace {workspace}.",
            hint="A directory on its path is a symlink in the registry; track a real path.",
        )
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        path.unlink(missing_ok=True)
