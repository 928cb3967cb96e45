"""One process-wide cache of compiled regular expressions, for the patterns the policies and
language packs hold.

Every `build_services` (each bot process, each test) validates the safety policy and builds a
crisis screen: about 1,200 `re.compile` calls of the same ~700 pattern strings. That is more than
`re`'s own cache keeps (512 entries, oldest dropped first), so without this each build compiled
every pattern again (~0.3-0.5 s). A compiled pattern is immutable and safe to share between
threads, and a pattern string always compiles to the same thing, so the cache is never stale;
it grows only with the distinct pattern strings a process compiles (the policies' and packs').
"""

from __future__ import annotations

import re
from functools import cache


@cache
def compiled(pattern: str, flags: int = 0) -> re.Pattern[str]:
    """`re.compile(pattern, flags)`, compiled once per process; raises `re.error` like it
    (an error is not cached: a bad pattern raises every time)."""
    return re.compile(pattern, flags)
