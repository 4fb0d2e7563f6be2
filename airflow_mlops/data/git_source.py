"""Read a data registry's git history: a commit's files and sha, mirrors, clones.

A registry on a local path is read in place (git only reads it); one given by URL is read
through a bare mirror under ``mirrors_dir``, fetched up to date under a lock on every use.
Credentials in a registry URL (``https://user:token@host/repo``) are used for git only: the
mirror's config, messages and results show :func:`shown_url`.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import subprocess
import tarfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import unquote, urlsplit, urlunsplit

from airflow_mlops.errors import ConfigError, DataError


def url_secrets(registry: str) -> list[str]:
    """The credentials in a registry URL: its password, or an http(s) user name alone (a
    token, as in ``https://<token>@github.com/...``)."""
    parts = urlsplit(registry)
    if not parts.scheme or "@" not in parts.netloc:
        return []  # a path, or scp-like ``git@host:repo`` (an ssh user, no secret)
    if parts.password:
        secret = parts.password
    elif parts.username and parts.scheme in ("http", "https"):
        secret = parts.username
    else:
        return []
    return sorted({secret, unquote(secret)})  # as written, and as git sends it


def shown_url(registry: str) -> str:
    """``registry`` as logs, errors, XCom and files may show it: each credential is ``***``."""
    secrets = url_secrets(registry)
    if not secrets:
        return registry
    parts = urlsplit(registry)
    userinfo, _, host = parts.netloc.rpartition("@")
    user, colon, _ = userinfo.partition(":")
    shown_user = "***" if user in secrets else user
    return urlunsplit(parts._replace(netloc=f"{shown_user}{colon and ':***'}@{host}"))


def git(argv: list[str], cwd: Path, registry: str | None = None) -> str:
    """Run ``git argv`` in ``cwd``; :class:`DataError` with git's message when it fails
    (the credentials of ``registry``, if any, replaced by ``***``)."""
    env = {**os.environ, "GIT_TERMINAL_PROMPT": "0"}
    result = subprocess.run(
        ["git", *argv], cwd=cwd, env=env, capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        where = f"registry {shown_url(registry)!r}" if registry else str(cwd)
        message = result.stderr.strip()[-1000:]
        for secret in url_secrets(registry or ""):
            message = message.replace(secret, "***")
        raise DataError(
            f"`git {' '.join(argv[:2])}` failed for {where}: {message}",
            hint="Check that the registry path or URL is a git repository you can read.",
        )
    return result.stdout


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def mirror(registry: str, mirrors_dir: Path) -> Path:
    """A bare mirror of ``registry`` under ``mirrors_dir``, fetched up to date (under a lock)."""
    key = hashlib.sha256(registry.encode()).hexdigest()[:16]
    path = mirrors_dir / f"{key}.git"
    with _locked(mirrors_dir / f"{key}.lock"):
        if not (path / "HEAD").exists():
            git(["clone", "-q", "--mirror", "--", registry, str(path)], mirrors_dir, registry)
            # the config keeps the URL without credentials; fetches pass the whole URL
            git(["remote", "set-url", "origin", shown_url(registry)], path, registry)
        else:
            fetch = ["fetch", "-q", "--prune", "--force", "--", registry, "+refs/*:refs/*"]
            git(fetch, path, registry)
    return path


def git_source(registry: str, mirrors_dir: Path) -> Path:
    """Where to read ``registry``'s git data: the repository itself when it is a local
    repository (working tree or bare), else its bare mirror under ``mirrors_dir``."""
    local = Path(registry).expanduser()
    if (local / ".git").exists() or (local / "HEAD").is_file():
        return local.resolve()
    return mirror(registry, mirrors_dir)


def export_commit(source: Path, rev: str, dest: Path, registry: str) -> str:
    """Write the files of the commit ``rev`` (tag, branch or sha) names into the existing
    directory ``dest`` (no ``.git``); returns the commit sha. One ``git archive`` does both.

    :raises ConfigError: ``rev`` is empty or not a revision name.
    :raises DataError: no such revision (the hint lists the registry's tags and branches), or
        the files could not be written.
    """
    if not rev or rev.startswith("-") or any(char.isspace() for char in rev):
        raise ConfigError(
            f"rev={rev!r} is not a git revision.", hint="Pass a tag, branch or commit sha."
        )
    archive = subprocess.Popen(
        ["git", "archive", "--format=tar", f"{rev}^{{commit}}"],
        cwd=source,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert archive.stdout is not None and archive.stderr is not None
    commit, problem = None, ""
    try:
        with tarfile.open(fileobj=archive.stdout, mode="r|") as tar:
            tar.extractall(dest, filter="tar")
            # git stores the commit id in the archive's global pax header
            commit = tar.pax_headers.get("comment")
    except tarfile.TarError as error:  # no archive (git says why on stderr), or a bad path
        problem = str(error)
    finally:
        archive.stdout.close()
        problem = archive.stderr.read().decode(errors="replace").strip()[-1000:] or problem
        code = archive.wait()
    if code == 0 and commit:
        return commit
    if code != 0 and not _is_commit(source, rev):
        raise _unknown_rev(source, rev, registry)
    raise DataError(
        f"Could not write the files of {rev!r} of registry {shown_url(registry)!r} into "
        f"{dest}: {problem}",
        hint="Check free disk space and that the registry repository is readable.",
    )


def _is_commit(source: Path, rev: str) -> bool:
    verify = ["git", "rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}"]
    return subprocess.run(verify, cwd=source, capture_output=True, check=False).returncode == 0


def _unknown_rev(source: Path, rev: str, registry: str) -> DataError:
    refs = git(["for-each-ref", "--format=%(refname:short)", "refs/tags", "refs/heads"], source)
    known = sorted(set(refs.split()))
    return DataError(
        f"Revision {rev!r} does not exist in registry {shown_url(registry)!r}.",
        hint=f"Use one of its tags or branches: {', '.join(known[:30]) or '(none)'}, "
        "or a commit sha.",
        details={"rev": rev, "known_refs": known[:100], "kind": "unknown_revision"},
    )


def clone(source: Path, commit: str, dest: Path, registry: str) -> None:
    """A git checkout of ``commit`` at ``dest`` (a new or empty directory)."""
    git(["clone", "-q", "--no-checkout", "--", str(source), str(dest)], dest.parent, registry)
    git(["-c", "advice.detachedHead=false", "checkout", "-q", "--detach", commit], dest)
