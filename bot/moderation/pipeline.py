"""The moderation pipeline: scrub, crisis screen, content reading, then a fail-closed decision.

Every text bound for another person passes `Moderator.moderate` (cards in /share, replies,
`needtotalk moderate`), so the same words get the same decision wherever they were written.
Order matters: the scrubber runs first, so every later step (and the database) only ever sees
the scrubbed text; the crisis screen reads the author's own words before scrubbing too, since
masking a name cannot make a suicide note safe.
"""

from __future__ import annotations

import logging

from bot.cards.scrub import scrub
from bot.domain import ContentClass, Polarity, UserClass
from bot.emotion.content_class import ContentClassifier, get_content_classifier
from bot.moderation.decision import AuthorNames, ModerationDecision, Verdict
from bot.safety.crisis_screen import CrisisScreen, default_screen

log = logging.getLogger(__name__)

# Seed 1 §3.7: who may read what, before any reader has said a card helped.
FIRST_STAGE_READERS = frozenset({UserClass.POTENTIAL_HEALING, UserClass.NORMAL})


class Moderator:
    """One decision per text. Any failure inside takes the safe side (`hold`)."""

    def __init__(
        self,
        *,
        screen: CrisisScreen | None = None,
        classifier: ContentClassifier | None = None,
    ) -> None:
        self._screen = screen or default_screen()
        self._classifier = classifier or get_content_classifier()

    def moderate(
        self,
        text: str,
        language: str,
        *,
        author_names: AuthorNames | None = None,
    ) -> ModerationDecision:
        try:
            return self._moderate(text, language, author_names)
        except Exception as exc:  # fail closed: an unreadable text reaches nobody
            log.error("moderation failed: %s", type(exc).__name__)
            return ModerationDecision(
                decision=Verdict.HOLD,
                readers=frozenset(),
                content_class=ContentClass.TOXIC,
                crisis=False,
                scrubbed="",
                polarity=Polarity(0.5, 0.5),
                reasons=(f"moderation failed ({type(exc).__name__}): held for review",),
            )

    def _moderate(
        self, text: str, language: str, author_names: AuthorNames | None
    ) -> ModerationDecision:
        scrubbed = scrub(text, language)
        crisis = self._screen.screen(text)
        if not crisis.is_crisis:
            crisis = self._screen.screen(scrubbed.text)
        result = self._classifier.classify(scrubbed.text)
        common = {
            "content_class": result.content_class,
            "crisis": crisis.is_crisis,
            "scrubbed": scrubbed.text,
            "polarity": result.reading.polarity,
            "crisis_categories": crisis.categories,
            "removed_summary": scrubbed.summary(language) if scrubbed.removed else "",
            "removed_count": len(scrubbed.removed),
            "scores": {"crisis": crisis.score},
        }
        if crisis.is_crisis:
            return ModerationDecision(
                decision=Verdict.HOLD,
                readers=frozenset(),
                reasons=("crisis language: held, the author gets helplines",),
                **common,  # type: ignore[arg-type]
            )
        if result.content_class is ContentClass.TOXIC:
            return ModerationDecision(
                decision=Verdict.HOLD,
                readers=frozenset(),
                reasons=result.reasons,
                **common,  # type: ignore[arg-type]
            )
        if result.content_class is ContentClass.VULNERABLE:
            return ModerationDecision(
                decision=Verdict.RESTRICT,
                readers=FIRST_STAGE_READERS,
                reasons=result.reasons,
                **common,  # type: ignore[arg-type]
            )
        return ModerationDecision(
            decision=Verdict.PUBLISH,
            readers=FIRST_STAGE_READERS,
            reasons=result.reasons,
            **common,  # type: ignore[arg-type]
        )
