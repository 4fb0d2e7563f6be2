"""The TTL cache that reuses the API's answers."""

from __future__ import annotations

from airflow_mlops.dashboard.cache import TtlCache


def test_ttl_cache_reuses_then_expires() -> None:
    calls = []
    cache = TtlCache(ttl_s=60)
    assert cache.get_or_compute("k", lambda: calls.append(1) or "a") == "a"
    assert cache.get_or_compute("k", lambda: calls.append(1) or "b") == "a"
    assert len(calls) == 1
    cache.clear()
    assert cache.get_or_compute("k", lambda: "c") == "c"
    assert TtlCache(ttl_s=0).get_or_compute("k", lambda: "fresh") == "fresh"


def test_ttl_cache_drops_the_oldest_entry_beyond_its_size() -> None:
    cache = TtlCache(ttl_s=60, max_entries=2)
    for key in "abc":
        cache.get_or_compute(key, lambda key=key: key)
    assert cache.get_or_compute("a", lambda: "recomputed") == "recomputed"
    assert cache.get_or_compute("c", lambda: "recomputed") == "c"
