"""The repository stands alone: no comment or doc sends a reader to files outside it."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CHECKED = ("bot", "docs", "policies", "prompts", "kb", "benchmarks", "scripts", "tests", "evals")
OUTSIDE = re.compile(r"\.\./shared|/work/|\bDESIGN\.md\b|\bSTYLE\.md\b|shared/notes|shared/seeds")


def _files() -> list[Path]:
    files = [ROOT / "README.md"]
    for folder in CHECKED:
        files += [
            p
            for p in (ROOT / folder).rglob("*")
            if p.is_file() and p.suffix in {".py", ".md", ".yaml", ".sh", ".toml", ".txt"}
        ]
    return [p for p in files if p != Path(__file__).resolve()]


def test_no_file_points_outside_the_repository() -> None:
    offenders = []
    for path in _files():
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if OUTSIDE.search(line):
                offenders.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()[:80]}")
    assert not offenders, "\n".join(offenders)
