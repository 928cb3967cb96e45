"""The /progress picture (seed 1 §3.8, Fig. 8): check-ins over time and the path of states.

Seed 1 §3.8 pictures a person's progress as a graph "from first interaction to improved state".
Here the picture has two panels, labelled in the person's language:
- left: each check-in's "how do you feel now" (1-5) over the days since the first one;
- right: the path of states (user class, mood level 0-3) from the first check-in to now, each
  distinct state a node and each change an arrow.

The same function serves a counsellor's case (`progress_png_for_case`), so both see one picture.
Matplotlib runs with the Agg backend (no display); Japanese labels use the IPAex Gothic font
shipped with the japanize-matplotlib package, loaded from its file (nothing is downloaded).
"""

from __future__ import annotations

import importlib.util
import io
import itertools
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

from matplotlib import font_manager
from matplotlib import pyplot as plt
from sqlmodel import Session, select

from bot.learning.service import ANSWERED
from bot.learning.store import events
from bot.store.sealing import Sealer
from bot.store.tables import Flag
from bot.texts import Texts

CLASS_ORDER = ("harmful", "vulnerable", "unknown", "normal", "potential_healing")


@dataclass(frozen=True, slots=True)
class CheckinPoint:
    at: datetime
    feeling: int
    user_class: str
    mood_level: int


@cache
def _font_family() -> str | None:
    """Register the bundled Japanese-capable font once; None when it is not installed."""
    spec = importlib.util.find_spec("japanize_matplotlib")
    if spec is None or spec.origin is None:
        return None
    font = Path(spec.origin).parent / "fonts" / "ipaexg.ttf"
    if not font.is_file():
        return None
    font_manager.fontManager.addfont(str(font))
    return font_manager.FontProperties(fname=str(font)).get_name()


def checkin_points(session: Session, sealer: Sealer, person_id: int) -> list[CheckinPoint]:
    return [
        CheckinPoint(
            at=e.at,
            feeling=int(str(e.data["feeling"])),
            user_class=str(e.data.get("class", "unknown")),
            mood_level=int(str(e.data.get("mood", 0))),
        )
        for e in events(session, sealer, person_id, kinds=[ANSWERED])
    ]


def render_progress(points: list[CheckinPoint], texts: Texts, language: str) -> bytes:
    """The two-panel PNG; `points` oldest first and not empty."""
    if not points:
        raise ValueError("no check-ins to draw")
    family = _font_family()
    with plt.rc_context({"font.family": family} if family else None):
        fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4.2), dpi=100)
        try:
            start = points[0].at
            days = [(p.at - start).total_seconds() / 86400 for p in points]
            left.plot(days, [p.feeling for p in points], marker="o", color="#4C72B0")
            left.set_xlim(-0.2, max(days[-1], 1.0) + 0.2)
            left.ticklabel_format(axis="x", useOffset=False, style="plain")
            left.set_ylim(0.5, 5.5)
            left.set_yticks([1, 2, 3, 4, 5])
            left.set_title(texts.get(language, "progress_title"))
            left.set_xlabel(texts.get(language, "progress_time_axis"))
            left.set_ylabel(texts.get(language, "progress_feeling_axis"))
            left.grid(alpha=0.3)

            path: list[tuple[int, int]] = []
            for p in points:
                node = (
                    p.mood_level,
                    CLASS_ORDER.index(p.user_class) if p.user_class in CLASS_ORDER else 2,
                )
                if not path or path[-1] != node:
                    path.append(node)
            xs, ys = [n[0] for n in path], [n[1] for n in path]
            for (x0, y0), (x1, y1) in itertools.pairwise(path):
                right.annotate(
                    "",
                    xy=(x1, y1),
                    xytext=(x0, y0),
                    arrowprops={"arrowstyle": "->", "color": "#55A868", "lw": 1.5},
                )
            right.scatter(xs, ys, s=120, color="#55A868", zorder=3)
            right.annotate(
                texts.get(language, "progress_start"),
                (xs[0], ys[0]),
                xytext=(6, 8),
                textcoords="offset points",
            )
            right.annotate(
                texts.get(language, "progress_now"),
                (xs[-1], ys[-1]),
                xytext=(6, -14),
                textcoords="offset points",
            )
            right.set_xlim(3.5, -0.5)  # lighter to the right: improvement moves right
            right.set_xticks([3, 2, 1, 0])
            right.set_ylim(-0.5, len(CLASS_ORDER) - 0.5)
            right.set_yticks(range(len(CLASS_ORDER)))
            right.set_yticklabels([texts.get(language, f"progress_class_{c}") for c in CLASS_ORDER])
            right.set_title(texts.get(language, "progress_path_title"))
            right.set_xlabel(texts.get(language, "progress_mood_axis"))
            right.grid(alpha=0.3)
            fig.tight_layout()
            buffer = io.BytesIO()
            fig.savefig(buffer, format="png")
            return buffer.getvalue()
        finally:
            plt.close(fig)


def progress_png(
    session: Session, sealer: Sealer, person_id: int, texts: Texts, language: str
) -> bytes | None:
    """A person's picture, or None before their first check-in."""
    points = checkin_points(session, sealer, person_id)
    return render_progress(points, texts, language) if points else None


def progress_png_for_case(
    session: Session, sealer: Sealer, case_ref: str, texts: Texts, language: str = "en"
) -> bytes | None:
    """The same picture for a counsellor's case (a flag's `case_ref`), in the counsellor's
    language; None when the case has no person or no check-ins."""
    person_id = session.exec(
        select(Flag.person_id).where(Flag.case_ref == case_ref).where(Flag.person_id.is_not(None))  # type: ignore[union-attr]
    ).first()
    if person_id is None:
        return None
    return progress_png(session, sealer, person_id, texts, language)
