"""Who owns a temporary thing (a staging file, a lock), and whether that owner has died.

An owner is a process on a host. Only a process of this host can be proven dead (its pid no
longer runs); one of another host is never called dead here, so callers fall back to age.
"""

from __future__ import annotations

import hashlib
import os
import socket


def host_tag() -> str:
    """A short, file-name-safe tag of this host (the hostname can hold any character)."""
    return hashlib.sha1(socket.gethostname().encode(), usedforsecurity=False).hexdigest()[:8]


def owner_tag() -> str:
    """This process as ``<host tag>-<pid>``, for names of the things it writes."""
    return f"{host_tag()}-{os.getpid()}"


def is_dead(host: str, pid: int) -> bool:
    """True when ``pid`` of this host (``host`` is its tag or hostname) runs no more."""
    if host not in (host_tag(), socket.gethostname()) or pid == os.getpid() or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # it runs, as another user
        return False
    return False
