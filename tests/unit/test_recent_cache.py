"""The bounded map the message readers share (bot/recent_cache.py)."""

from __future__ import annotations

import threading

import pytest

from bot.recent_cache import RecentCache


def test_the_least_recently_used_entry_goes_first() -> None:
    cache: RecentCache[str, int] = RecentCache(2)
    cache.put("a", 1)
    cache.put("b", 2)
    assert cache.get("a") == 1  # "a" is now the most recent
    cache.put("c", 3)
    assert cache.get("b") is None
    assert cache.get("a") == 1
    assert cache.get("c") == 3
    assert len(cache) == 2


def test_a_key_stored_first_is_kept_and_returned() -> None:
    cache: RecentCache[str, list[int]] = RecentCache(4)
    first = cache.put("k", [1])
    second = cache.put("k", [1])
    assert second is first


def test_hits_and_misses_are_counted_and_clear_resets_them() -> None:
    cache: RecentCache[str, int] = RecentCache(4)
    assert cache.get("x") is None
    cache.put("x", 7)
    assert cache.get("x") == 7
    assert (cache.hits, cache.misses) == (1, 1)
    cache.clear()
    assert (len(cache), cache.hits, cache.misses) == (0, 0, 0)


def test_a_cache_holds_at_least_one_entry() -> None:
    with pytest.raises(ValueError):
        RecentCache(0)


def test_concurrent_writers_never_exceed_the_bound() -> None:
    cache: RecentCache[int, int] = RecentCache(64)

    def write(offset: int) -> None:
        for i in range(2000):
            cache.put(offset + i, i)
            cache.get(offset + i // 2)

    threads = [threading.Thread(target=write, args=(n * 10_000,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(cache) == 64
