"""DVC's content-addressed cache as plain files: read ``.dvc`` files, check objects, copy them in.

An object lives at ``files/md5/<2 hex>/<30 hex>`` under a cache or a local remote; a directory's
manifest (a JSON list of ``{"md5", "relpath"}``) has the suffix ``.dir``. As in DVC, a read-only
object (mode 0444) counts as verified, since DVC makes an object read-only only once its md5 is
right; here it must also have the size its ``.dvc`` file records. Any other object is hashed
before use: a corrupt one in the cache is deleted and copied in again, a corrupt one in a
remote is reported. Objects are written through a temporary name and a rename, so concurrent
pulls may share one cache. :mod:`~airflow_mlops.data.dvc_checkout` links them out into a
workspace.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shutil
import stat
import uuid
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from airflow_mlops.errors import DataError

PROTECTED = 0o444
_MD5 = re.compile(r"[0-9a-f]{32}(\.dir)?")
_PLAIN_OUT_KEYS = {"md5", "size", "nfiles", "hash", "path"}


@dataclass(frozen=True)
class Output:
    """A tracked file or directory: its path in the registry, DVC md5, size and file count."""

    path: str
    md5: str
    size: int | None
    nfiles: int | None

    @property
    def is_dir(self) -> bool:
        return self.md5.endswith(".dir")


class ObjectsUnavailable(Exception):
    """Objects are missing from the cache and their source, or corrupt in the source.

    :param missing: md5s found nowhere.
    :param corrupt: ``{"expected", "actual", "object"}`` for each object whose md5 is wrong.
    """

    def __init__(self, missing: list[str], corrupt: list[dict[str, Any]]) -> None:
        super().__init__(f"missing: {missing}, corrupt: {corrupt}")
        self.missing = missing
        self.corrupt = corrupt


def read_output(root: Path, path: str) -> Output | None:
    """The output ``path`` as ``<path>.dvc`` under ``root`` records it.

    None when there is no such file, or when it is anything but one plain md5-hashed output
    of ``dvc add`` (a pipeline output, an import, a legacy hash): DVC itself reads those.
    """
    import yaml

    try:
        meta = yaml.safe_load((root / f"{path}.dvc").read_text())
    except (OSError, yaml.YAMLError):
        return None
    if not isinstance(meta, dict) or set(meta) != {"outs"} or len(meta["outs"]) != 1:
        return None
    out = meta["outs"][0]
    plain = (
        isinstance(out, dict)
        and set(out) <= _PLAIN_OUT_KEYS
        and out.get("hash") == "md5"
        and out.get("path") == PurePosixPath(path).name
        and _MD5.fullmatch(str(out.get("md5", "")))
    )
    if not plain:
        return None
    return Output(path, out["md5"], out.get("size"), out.get("nfiles"))


def file_md5(path: Path) -> str:
    digest = hashlib.md5(usedforsecurity=False)
    with path.open("rb") as handle:
        while block := handle.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def _copy_hashing(source: Path, dest: Path) -> str:
    digest = hashlib.md5(usedforsecurity=False)
    with source.open("rb") as reader, dest.open("xb") as writer:
        while block := reader.read(1 << 20):
            digest.update(block)
            writer.write(block)
    return digest.hexdigest()


def _trusted(info: os.stat_result, md5: str, size: int | None) -> bool:
    """Read-only and of the recorded size; manifests are always hashed (they are tiny)."""
    return (
        not md5.endswith(".dir")
        and stat.S_IMODE(info.st_mode) == PROTECTED
        and size in (None, info.st_size)
    )


class ObjectStore:
    """A DVC cache or local remote directory (``files/md5/...`` under ``root``)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, md5: str) -> Path:
        return self.root / "files" / "md5" / md5[:2] / md5[2:]

    def verified(self, md5: str, size: int | None = None, *, rehash: bool = False) -> bool:
        """Whether the object is here and right; a corrupt one is deleted."""
        path = self.path(md5)
        try:
            info = path.stat()
        except FileNotFoundError:
            return False
        if not rehash and _trusted(info, md5, size):
            return True
        if file_md5(path) == md5.removesuffix(".dir"):
            _protect(path)
            return True
        path.unlink(missing_ok=True)
        return False

    def fill(
        self,
        wanted: Mapping[str, int | None],
        source: ObjectStore | None,
        jobs: int,
        *,
        rehash: bool = False,
    ) -> int:
        """Copy the objects of ``wanted`` (md5 -> size or None) that are not verified here in
        from ``source``; returns how many were copied.

        :raises ObjectsUnavailable: some are missing (everywhere when ``source`` is None) or
            corrupt in ``source``.
        """
        missing = {
            md5: size for md5, size in wanted.items() if not self.verified(md5, size, rehash=rehash)
        }
        if not missing:
            return 0
        if source is None:
            raise ObjectsUnavailable(sorted(missing), [])
        with ThreadPoolExecutor(max_workers=min(jobs, len(missing))) as pool:
            copies = pool.map(self._copy_in, [source] * len(missing), missing, missing.values())
            problems = [problem for problem in copies if problem]
        if problems:
            raise ObjectsUnavailable(
                sorted(p for p in problems if isinstance(p, str)),
                [p for p in problems if isinstance(p, dict)],
            )
        return len(missing)

    def _copy_in(
        self, source: ObjectStore, md5: str, size: int | None
    ) -> str | dict[str, Any] | None:
        """Copy one object in from ``source``: None, or the md5 when it is missing there, or
        a description when it is corrupt there."""
        origin, dest = source.path(md5), self.path(md5)
        try:
            info = origin.stat()
        except FileNotFoundError:
            return md5
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = dest.with_name(f"{dest.name}.{uuid.uuid4().hex}.tmp")
        try:
            if _trusted(info, md5, size):
                shutil.copyfile(origin, tmp)
            else:
                actual = _copy_hashing(origin, tmp)
                if actual != md5.removesuffix(".dir"):
                    return {"expected": md5, "actual": actual, "object": str(origin)}
            _protect(tmp)
            os.replace(tmp, dest)
        finally:
            tmp.unlink(missing_ok=True)
        return None

    def manifest(self, md5: str) -> list[tuple[str, str]]:
        """``(relpath, md5)`` of each file of a directory object."""
        try:
            entries = json.loads(self.path(md5).read_bytes())
            pairs = [(str(entry["relpath"]), str(entry["md5"])) for entry in entries]
        except (OSError, ValueError, TypeError, KeyError) as error:
            raise DataError(
                f"The directory manifest {md5} in the DVC cache {self.root} is unreadable: {error}",
                hint="Delete it from the cache and pull again.",
            ) from error
        for relpath, entry_md5 in pairs:
            parts = PurePosixPath(relpath).parts
            if not parts or relpath.startswith("/") or ".." in parts or len(entry_md5) != 32:
                raise DataError(
                    f"The directory manifest {md5} names a bad entry {relpath!r} ({entry_md5}).",
                    hint="The registry's DVC remote holds a corrupt manifest; push it again.",
                )
        return pairs


def _protect(path: Path) -> None:
    # a shared cache object owned by another user is theirs to protect
    with contextlib.suppress(OSError):
        os.chmod(path, PROTECTED)
