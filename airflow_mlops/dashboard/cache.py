"""A small TTL cache: the plugin's API reuses an answer for a few seconds instead of asking MLflow
again for every page load."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any


class TtlCache:
    """A small thread-safe cache of computed values that expire after ``ttl_s`` seconds.

    :param ttl_s: how long a value is served before it is computed again (0 disables caching).
    :param max_entries: the oldest entry is dropped beyond this many.
    """

    def __init__(self, ttl_s: float, max_entries: int = 256) -> None:
        self.ttl_s = ttl_s
        self.max_entries = max_entries
        self._values: dict[Any, tuple[float, Any]] = {}
        self._lock = threading.Lock()

    def get_or_compute(self, key: Any, compute: Callable[[], Any]) -> Any:
        """The cached value for ``key``, computing and storing it when missing or expired."""
        now = time.monotonic()
        with self._lock:
            hit = self._values.get(key)
        if hit is not None and now - hit[0] < self.ttl_s:
            return hit[1]
        value = compute()
        with self._lock:
            self._values[key] = (time.monotonic(), value)
            while len(self._values) > self.max_entries:
                self._values.pop(next(iter(self._values)))
        return value

    def clear(self) -> None:
        with self._lock:
            self._values.clear()
