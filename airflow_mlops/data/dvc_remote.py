"""Which DVC remote a pull reads, and how to reach it (URL, credentials)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from airflow_mlops.errors import DataError

#: the remote name used when the caller gives a URL but no remote name
OVERRIDE_REMOTE = "airflow-mlops"
#: the options an AWS connection gives (``DvcRemoteHook``): only an ``s3://`` remote takes them
S3_OPTIONS = frozenset(
    {"access_key_id", "secret_access_key", "session_token", "endpointurl", "region"}
)


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


def local_remote(remote: RemoteSpec) -> Path | None:
    """The remote's directory when it is given as an absolute local path with no options."""
    url = remote.url
    if url and not remote.config and "://" not in url and Path(url).is_absolute():
        return Path(url)
    return None


def check_options_fit(name: str, url: str, options: Mapping[str, Any]) -> None:
    """Refuse AWS connection options for a remote that is not on S3: DVC would refuse them with
    "extra keys not allowed", which reads as an unreachable remote.

    :raises DataError: ``options`` hold S3 options and ``url`` is not an ``s3://`` URL.
    """
    given = sorted(S3_OPTIONS.intersection(options))
    scheme = urlsplit(url).scheme if "://" in url else ""
    if not given or scheme == "s3":
        return
    kind = "a local directory" if scheme in ("", "file") else f"a {scheme}:// remote"
    raise DataError(
        f"DVC remote {name!r} is {kind}; aws_conn_id applies to s3:// remotes only "
        f"(options given: {', '.join(given)}).",
        hint="Drop aws_conn_id for this remote, or name an s3:// remote (remote or remote_url).",
        details={"remote": name, "kind": "credentials_for_other_remote", "options": given},
    )
