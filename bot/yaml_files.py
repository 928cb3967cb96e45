"""YAML reading for the project's policies, prompts and kb files, with libyaml when present.

PyYAML's pure-Python SafeLoader took ~0.2 s for policies/emotions.yaml alone (1,700 phrases), a
noticeable share of the emotion engine's start-up; the C loader that PyYAML's wheels ship is
~10x faster and accepts the same safe subset. Falls back to SafeLoader where libyaml is absent.

Parsed texts are kept (by their whole text, so an edited file is parsed again): every
`build_services` reads the same policies, banks and packs, some twice, and each bot process or
test builds it at least once; parsing them was ~0.3 s of a build. Every call returns a fresh
copy (unpickled), so a caller may change what it gets without changing what the next one gets.
"""

from __future__ import annotations

import pickle
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def load_yaml(text: str) -> Any:
    """Parse YAML text with the safe loader (C implementation when available)."""
    return pickle.loads(_parsed(text))


@lru_cache(maxsize=512)
def _parsed(text: str) -> bytes:
    """The parsed text, pickled: unpickling is a deep copy, ~50x faster than parsing again.
    A text that fails to parse raises each time (exceptions are not cached)."""
    return pickle.dumps(yaml.load(text, Loader=_LOADER), protocol=pickle.HIGHEST_PROTOCOL)


def read_yaml(path: Path) -> Any:
    """Parse a UTF-8 YAML file with the safe loader."""
    return load_yaml(path.read_text(encoding="utf-8"))
