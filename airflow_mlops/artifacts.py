"""Atomic writes: a killed process leaves either the old artifact or the new one, never half;
and :func:`task_artifact_dir`, the one place that names a task's artifact folder.

A write that finds its disk full fails with :class:`~airflow_mlops.errors.StorageError`, which
says where and what to do; the previous artifact stays as it was. Temporary names carry their
writer (host tag and pid): the next write of the same artifact removes what a killed writer of
this host left behind.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from airflow_mlops.errors import StorageError
from airflow_mlops.owners import is_dead, owner_tag

#: the errors of a full disk or quota
_FULL = (errno.ENOSPC, errno.EDQUOT)
#: characters replaced in the parts of a task's artifact folder
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def task_artifact_dir(
    root: str | os.PathLike[str],
    family: str,
    dag_id: str,
    run_id: str,
    task_id: str,
    map_index: int | None = -1,
) -> Path:
    """``<root>/<family>/<dag_id>/<run_id>/<task_id>[/<map_index>]``: where one task instance
    writes. Each part has the characters outside ``A-Za-z0-9._-`` replaced by ``_`` (run ids
    carry ``:`` and ``+``); a mapped instance (``map_index >= 0``) gets its own sub-folder, so
    the instances of a mapped task never write into each other's folder.
    """
    parts = [family, dag_id, run_id, task_id]
    if map_index is not None and map_index >= 0:
        parts.append(str(map_index))
    safe = [_UNSAFE.sub("_", str(part)) for part in parts]
    if any(part in ("", ".", "..") for part in safe):
        raise ValueError(f"task_artifact_dir: a part of {parts!r} is empty, '.' or '..'")
    return Path(root).joinpath(*safe)


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> Path:
    """Write ``data`` to ``path`` through a temporary sibling file and a rename."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    sweep_dead_writers(target)
    fd, tmp = tempfile.mkstemp(prefix=_temp_prefix(target), suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, target)
    except BaseException as error:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        _raise_if_full(error, target)
        raise
    return target


def atomic_write_text(path: str | os.PathLike[str], text: str) -> Path:
    """Write UTF-8 ``text`` to ``path`` atomically."""
    return atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_json(path: str | os.PathLike[str], payload: Any) -> Path:
    """Write ``payload`` as indented, key-sorted JSON to ``path`` atomically."""
    return atomic_write_text(path, json.dumps(payload, indent=2, sort_keys=True) + "\n")


@contextlib.contextmanager
def atomic_directory(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary directory that replaces ``path`` only if the block succeeds.

    On error the temporary directory is removed and ``path`` keeps its previous content. An
    existing ``path`` is swapped with the new content in one step where the system can
    (Linux ``renameat2``), so a process killed meanwhile leaves the old directory or the new.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    sweep_dead_writers(target)
    tmp = Path(tempfile.mkdtemp(prefix=_temp_prefix(target), suffix=".tmp", dir=target.parent))
    try:
        yield tmp
        if target.exists() and _exchange(tmp, target):
            shutil.rmtree(tmp, ignore_errors=True)  # the previous content, swapped out
        elif target.exists():
            backup = target.with_name(f"{_temp_prefix(target)}old.tmp")
            os.replace(target, backup)
            os.replace(tmp, target)
            shutil.rmtree(backup, ignore_errors=True)
        else:
            os.replace(tmp, target)
    except BaseException as error:
        shutil.rmtree(tmp, ignore_errors=True)
        _raise_if_full(error, target)
        raise


def _temp_prefix(target: Path) -> str:
    """Hidden, and named after the artifact and its writer: ``.<name>.<host>-<pid>-``."""
    return f".{target.name}.{owner_tag()}-"


def sweep_dead_writers(target: Path) -> list[Path]:
    """Remove the temporary files and directories of ``target`` whose writer, a process of
    this host, was killed before it could clean up. Returns what was removed."""
    pattern = re.compile(rf"\.{re.escape(target.name)}\.([0-9a-f]{{8}})-(\d+)-.*\.tmp")
    removed = []
    for sibling in target.parent.iterdir():
        found = pattern.fullmatch(sibling.name)
        if found is None or not is_dead(found[1], int(found[2])):
            continue
        if sibling.is_dir() and not sibling.is_symlink():
            shutil.rmtree(sibling, ignore_errors=True)
        else:
            with contextlib.suppress(FileNotFoundError):
                sibling.unlink()
        removed.append(sibling)
    return removed


def _exchange(a: Path, b: Path) -> bool:
    """Swap the paths ``a`` and ``b`` atomically (Linux ``renameat2(RENAME_EXCHANGE)``);
    False where the system or the filesystem cannot."""
    import ctypes

    try:
        renameat2 = ctypes.CDLL(None, use_errno=True).renameat2
    except (AttributeError, OSError):
        return False
    at_fdcwd, rename_exchange = -100, 2
    if renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP):
        return False
    raise OSError(code, os.strerror(code), str(b))


def _raise_if_full(error: BaseException, target: Path) -> None:
    """Raise a :class:`StorageError` instead of ``error`` when it says the disk is full."""
    if isinstance(error, StorageError) or getattr(error, "errno", None) not in _FULL:
        return
    free = shutil.disk_usage(target.parent).free
    raise StorageError(
        f"No space left to write {str(target)!r} ({free} bytes free on its disk): {error}",
        hint="Free space on that disk, or move the artifacts to a bigger one "
        "(AIRFLOW_MLOPS_ARTIFACT_ROOT, AIRFLOW_MLOPS_HOME), then retry the task. Nothing was "
        "published: the previous version, if any, is unchanged.",
        details={"path": str(target), "free_bytes": free},
    ) from error
