"""Everyday text from many writers, for the crisis classifier: real negatives and a held-apart
many-writer false-alarm figure (docs/crisis.md, "fifth round").

Why: every earlier round trained the classifier, and chose its thresholds, on examples written
by one writer; on a new writer's everyday lines its false alarms more than doubled (held-out v4:
21.5 % for the classifier alone). Real comments from thousands of writers teach the model that
low moods, anger and strong words in ordinary talk are not a crisis, and give a false-alarm
figure that no one wrote for the purpose.

Sources (English only: no Japanese corpus is available to the project; the folders are given to
`needtotalk train crisis-classifier --goemotions DIR --hate-offensive DIR`; nothing here is
shipped, only the trained artefact and the ids reviewed below):

- GoEmotions (Demszky et al., ACL 2020; CC BY 4.0), train split: Reddit comments. Its test split
  is never read.
- Davidson et al. 2017 hate speech and offensive language (MIT), tweets: only the class
  "neither" (neither hate nor offensive); the other classes hold threats and slurs that the
  crisis screen's "harm to others" must keep flagging.

Splits (seeded, `SEED`): each source's rows are shuffled once and cut into a REPORT part (never
trained on, never used to choose anything: the many-writer figure), a TUNE part (never trained
on; the threshold is chosen on its false alarms) and a TRAIN part (negatives of the classifier).

Real crisis text in the comments: some comments are a person in danger. Such a comment must
neither be trained as a negative nor count as a false alarm. Comments were read by hand (how,
part by part: policies/crisis_real_texts.yaml `reviewed`: the rules' hits, the classifier's
top-scoring, and a keyword search of all parts), and the ones a counsellor should see are
listed by id there (`crisis`; `report_crisis` for the part training never reads) and dropped
everywhere.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel, Field

from bot.config import PROJECT_ROOT
from bot.yaml_files import read_yaml

REVIEW_PATH = PROJECT_ROOT / "policies" / "crisis_real_texts.yaml"
GOEMOTIONS_FILE = "original_train.tsv"
DAVIDSON_NEITHER = 2
SEED = 0
# Rows per part and source. The sizes keep training (one MiniLM embedding per row, 5-fold
# cross-validation over eight C values) within a few minutes on the shared two-core machine.
SIZES: dict[str, dict[str, int]] = {
    "goemotions": {"report": 2000, "tune": 2000, "train": 5000},
    "davidson": {"report": 500, "tune": 500, "train": 1000},
}
PARTS = ("report", "tune", "train")
REAL_TEXT_LANGUAGES = frozenset({"en"})  # the models that read these texts
# The spec of the selection, hashed into the artefact's key (bot/safety/classifier.py
# examples_key): a change of sizes, seed or sources makes the shipped artefact stale.
SELECTION_VERSION = "goemotions-train+davidson-neither/v1"


@dataclass
class RealTexts:
    """One part of the real texts: ids ("goemotions:<comment id>", "davidson:<row>") and texts."""

    ids: list[str] = field(default_factory=list)
    texts: list[str] = field(default_factory=list)

    def add(self, ident: str, text: str) -> None:
        self.ids.append(ident)
        self.texts.append(text)


def selection_spec() -> dict[str, Any]:
    """What decides which real texts are read (not the texts themselves: the artefact key must be
    checkable without the data, and the review list is part of the repository)."""
    review = read_review(report=False)
    return {
        "version": SELECTION_VERSION,
        "seed": SEED,
        "sizes": SIZES,
        "crisis": sorted(review),
    }


class ReviewedText(BaseModel):
    id: str = Field(pattern=r"^(goemotions|davidson):\S+$")
    why: str = Field(min_length=3)


class RealTextsReview(BaseModel):
    """policies/crisis_real_texts.yaml: how the real texts were read by hand, and the ids of
    those judged a crisis (dropped from every part: neither a negative nor a false alarm)."""

    reviewed: dict[str, str] = Field(default_factory=dict)
    crisis: list[ReviewedText] = Field(default_factory=list)
    # Crises found in the REPORT part, which training never reads: kept apart so that reviewing
    # the report does not make the artefact stale (selection_spec keys on `crisis` alone).
    report_crisis: list[ReviewedText] = Field(default_factory=list)


def read_review(path: Path = REVIEW_PATH, *, report: bool = True) -> dict[str, str]:
    """The ids read by hand and judged a crisis (id -> why), dropped from every part;
    `report=False`: those that can change training (not `report_crisis`)."""
    review = RealTextsReview.model_validate(read_yaml(path) or {})
    entries = [*review.crisis, *(review.report_crisis if report else [])]
    return {entry.id: entry.why for entry in entries}


def _goemotions(directory: Path) -> list[tuple[str, str]]:
    path = directory / GOEMOTIONS_FILE
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found: is {directory} the GoEmotions folder?")
    rows: list[tuple[str, str]] = []
    with path.open(encoding="utf-8", newline="") as handle:
        for record in csv.reader(handle, delimiter="\t", quoting=csv.QUOTE_NONE):
            if len(record) >= 3 and record[0].strip():
                rows.append((f"goemotions:{record[2]}", record[0]))
    return rows


def _davidson(directory: Path) -> list[tuple[str, str]]:
    """The tweets of class "neither", each named by its row number in the file (the moderation
    training's reader, so both read the file the same way)."""
    from bot.moderation.training import read_davidson

    texts, classes = read_davidson(directory)
    return [
        (f"davidson:{number}", text)
        for number, (text, label) in enumerate(zip(texts, classes, strict=True))
        if label == DAVIDSON_NEITHER and text.strip()
    ]


def read_real_texts(
    goemotions_dir: Path,
    davidson_dir: Path | None = None,
    review_path: Path = REVIEW_PATH,
    sizes: dict[str, dict[str, int]] = SIZES,
) -> dict[str, RealTexts]:
    """The REPORT, TUNE and TRAIN parts (English), seeded, minus the reviewed crisis ids.
    `sizes`: rows per source and part (SIZES; smaller in tests)."""
    crisis = set(read_review(review_path))
    sources = [("goemotions", _goemotions(goemotions_dir))]
    if davidson_dir is not None:
        sources.append(("davidson", _davidson(davidson_dir)))
    parts = {name: RealTexts() for name in PARTS}
    for source, rows in sources:
        order = np.random.default_rng(SEED).permutation(len(rows))
        start = 0
        for name in PARTS:
            size = sizes[source][name]
            for i in order[start : start + size]:
                ident, text = rows[int(i)]
                if ident not in crisis:
                    parts[name].add(ident, text)
            start += size
    return parts
