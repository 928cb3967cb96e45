"""YAML reading for the project's policies, prompts and kb files, with libyaml when present.

PyYAML's pure-Python SafeLoader took ~0.2 s for policies/emotions.yaml alone (1,700 phrases), a
noticeable share of the emotion engine's start-up; the C loader that PyYAML's wheels ship is
~10x faster and accepts the same safe subset. Falls back to SafeLoader where libyaml is absent.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def load_yaml(text: str) -> Any:
    """Parse YAML text with the safe loader (C implementation when available)."""
    return yaml.load(text, Loader=_LOADER)


def read_yaml(path: Path) -> Any:
    """Parse a UTF-8 YAML file with the safe loader."""
    return load_yaml(path.read_text(encoding="utf-8"))
