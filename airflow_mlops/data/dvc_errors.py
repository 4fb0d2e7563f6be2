"""Why a DVC pull failed, told apart for the user: the remote is unreachable, it refused the
credentials, objects are missing on it, or an object there is corrupt."""

from __future__ import annotations

import hashlib
import re
from typing import TYPE_CHECKING, Any

from airflow_mlops.data.dvc_remote import RemoteSpec
from airflow_mlops.errors import DataError

if TYPE_CHECKING:
    from dvc.repo import Repo

#: words in a storage error that mean "the credentials were refused", not "cannot connect"
_AUTH_WORDS = re.compile(
    r"accessdenied|access denied|invalidaccesskeyid|signaturedoesnotmatch|invalidtoken"
    r"|expiredtoken|forbidden|\b403\b|unrecognizedclient|permission",
    re.IGNORECASE,
)
#: URLs in an error message: their hosts and ports are not words (a port 40353 is no 403)
_URL = re.compile(r"[a-z][a-z0-9+.-]*://\S+", re.IGNORECASE)


def diagnose(
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
        if is_auth_error(probe_error):
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
        return unreachable(name, url)
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
        return missing_objects(name, url, rev, missing)
    if corrupt:
        return corrupt_objects(name, rev, corrupt)
    return DataError(
        f"DVC pull of revision {rev!r} from remote {name!r} failed: {error}",
        hint="Read the DVC message above; run `dvc pull -v` in a checkout for details.",
        details={"remote": name, "kind": "pull_failed"},
    )


def unreachable(name: str, url: str) -> DataError:
    return DataError(
        f"The DVC remote {name!r} at {url!r} does not exist or cannot be read.",
        hint="Check the remote URL (`dvc remote list` in the registry), or pass remote_url.",
        details={"remote": name, "url": url, "kind": "remote_unreachable"},
    )


def missing_objects(name: str, url: str, rev: str, missing: list[str]) -> DataError:
    return DataError(
        f"Objects {', '.join(missing)} of revision {rev!r} are missing on remote {name!r} ({url}).",
        hint="Run `dvc push` in the registry for that revision, then retry.",
        details={"remote": name, "missing": missing, "kind": "object_missing"},
    )


def corrupt_objects(name: str, rev: str, corrupt: list[dict[str, Any]]) -> DataError:
    first = corrupt[0]
    actual = f"is {first['actual']}" if first["actual"] else "does not match (DVC deleted it)"
    return DataError(
        f"Object {first['object']} on remote {name!r} is corrupt: its md5 {actual}, "
        f"expected {first['expected']} (revision {rev!r}).",
        hint="Delete the object on the remote and `dvc push` it again from a good copy.",
        details={"remote": name, "corrupt": corrupt, "kind": "checksum_mismatch"},
    )


def is_auth_error(error: BaseException) -> bool:
    """Whether a storage error says the credentials were refused (not that it cannot connect)."""
    text = _URL.sub("<url>", f"{type(error).__name__} {error}")
    return isinstance(error, PermissionError) or _AUTH_WORDS.search(text) is not None


def _remote_md5(fs: Any, path: str) -> str:
    digest = hashlib.md5(usedforsecurity=False)
    with fs.open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
