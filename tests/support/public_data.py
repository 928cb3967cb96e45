"""Tiny copies of the public data sets' files, in their real layout, for the readers' tests."""

from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path

DAVIDSON_HEADER = ("", "count", "hate_speech", "offensive_language", "neither", "class", "tweet")


def write_davidson(folder: Path, rows: Sequence[tuple[int, str]]) -> Path:
    """`folder/labeled_data.csv` as Davidson et al. ship it, one row per (class, tweet) in order
    (the row number is the first column); the readers use only `class` and `tweet`."""
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / "labeled_data.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(DAVIDSON_HEADER)
        for number, (label, text) in enumerate(rows):
            writer.writerow([number, 3, 0, 0, 0, label, text])
    return folder
