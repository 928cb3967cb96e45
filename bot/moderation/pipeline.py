"""The moderation pipeline: scrub, crisis screen, content reading, then a fail-closed decision.

Every text bound for another person passes `Moderator.moderate` (cards in /share, replies,
`needtotalk moderate`), so the same words get the same decision wherever they were written.
Order matters: the scrubber runs first, so every later step (and the database) only ever sees
the scrubbed text; the crisis screen reads the author's own words before scrubbing too, since
masking a name cannot make a suicide note safe. Then: text neither reading can read takes the
policy's `unreadable` decision; the content classifier (the moderation model plus the rules of
policies/content.yaml, bot/emotion/content_class.py) gives the class; readers come from
policies/moderation.yaml, never wider than the content class may reach.
"""

from __future__ import annotations

import logging

import numpy as np
from numpy.typing import NDArray

from bot.cards.identifying import identifying_names
from bot.cards.scrub import scrub
from bot.domain import ContentClass, Polarity, UserClass
from bot.emotion.content_class import ContentClassifier, get_content_classifier
from bot.emotion.embeddings import cached_embeddings
from bot.languages import registry
from bot.moderation.decision import AuthorNames, ModerationDecision, Verdict
from bot.moderation.policy import ModerationPolicy
from bot.moderation.readable import readability
from bot.safety.classifier import EMBEDDING_LANGUAGES, embedded_texts, sentences
from bot.safety.crisis_screen import CrisisScreen, full_screen
from bot.safety.reading import plain

log = logging.getLogger(__name__)

# Seed 1 §3.7: who may read what, before any reader has said a card helped (the default
# policies/moderation.yaml gives the same for `publish` and `restrict`).
FIRST_STAGE_READERS = frozenset({UserClass.POTENTIAL_HEALING, UserClass.NORMAL})
# The crisis category a flag carries when the moderation model (not the screen) read crisis.
MODEL_CRISIS_CATEGORY = "crisis_in_content"


class Moderator:
    """One decision per text. Any failure inside takes the safe side (`hold`)."""

    def __init__(
        self,
        *,
        screen: CrisisScreen | None = None,
        classifier: ContentClassifier | None = None,
        policy: ModerationPolicy | None = None,
    ) -> None:
        self._screen = screen or full_screen()  # as the conversation screens: rules and model
        self._classifier = classifier or get_content_classifier()
        self._policy = policy or self._classifier.moderation

    @property
    def policy(self) -> ModerationPolicy:
        return self._policy

    @property
    def screen(self) -> CrisisScreen:
        """The crisis screen it runs first (benchmarks attribute a hold to it)."""
        return self._screen

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
        scrubbed = scrub(text, language, author_names=author_names)
        languages = registry()
        written_in = languages.detect(scrubbed.text, languages.resolve(language))
        self._embed_once(scrubbed.text, text, written_in)
        # One MiniLM embedding per card: the emotion engine's (cached, so `classify` below reuses
        # it) serves the crisis classifier too. If the engine fails the screen embeds by itself,
        # and if that fails the rules alone still screen: the crisis answer never depends on it.
        embedding = self._embedding(scrubbed.text)
        crisis = self._screen.screen(scrubbed.text, embedding)
        # The classifier's readings (None: it did not read the text), for the publish check.
        crisis_readings = [crisis.probability]
        if not crisis.is_crisis and scrubbed.text != text:
            # The author's own words too (masking a name cannot make a suicide note safe); the
            # scrubbed text's embedding carries the same meaning.
            crisis = self._screen.screen(text, embedding)
            crisis_readings.append(crisis.probability)
        removed = {
            "scrubbed": scrubbed.text,
            "removed_summary": scrubbed.summary(language) if scrubbed.removed else "",
            "removed_count": len(scrubbed.removed),
        }
        policy = self._policy
        hold = policy.readers.hold
        # The classifier alone, and not sure enough to hold: restricted below, never published.
        unsure_crisis = (
            crisis.is_crisis
            and crisis.layers == ("classifier",)
            and (crisis.probability or 0.0) < policy.thresholds.crisis_classifier_hold
        )
        if crisis.is_crisis and not unsure_crisis:  # before the content model: never waits on it
            return ModerationDecision(
                decision=Verdict.HOLD,
                readers=hold,
                content_class=ContentClass.VULNERABLE,
                crisis=True,
                polarity=Polarity(0.0, 1.0),
                reasons=("crisis language: held, the author gets helplines",),
                scores={"crisis_screen": crisis.score},
                crisis_categories=crisis.categories,
                **removed,  # type: ignore[arg-type]
            )
        # Employer and town names stay the author's choice; the preview only warns. (Not for a
        # crisis above: that author gets helplines, not a preview; spaCy costs ~3 ms a card.)
        removed["may_identify"] = identifying_names(scrubbed.text, language)
        unread: str | None = None  # why the text is not read: the policy's `unreadable` rule
        if languages.get(written_in).analyser("moderation") is None:
            # The pack declares no moderation analyser (docs/languages.md): the `unreadable`
            # rule, explicitly, rather than another language's model and phrase lists.
            unread = f"no moderation analyser for {written_in}"
        else:
            readable = readability(scrubbed.text)
            if not readable.readable:
                unread = f"unreadable ({readable.reason})"
        if unread is not None:
            verdict = Verdict(policy.unreadable)
            return ModerationDecision(
                decision=verdict,
                readers=hold if verdict is Verdict.HOLD else self._readers(Verdict.RESTRICT),
                content_class=ContentClass.VULNERABLE,
                crisis=False,
                polarity=Polarity(0.5, 0.5),
                reasons=(f"{unread}: {verdict.value}",),
                scores={"crisis_screen": crisis.score},
                **removed,  # type: ignore[arg-type]
            )
        result = self._classifier.classify(scrubbed.text)
        scores = {"crisis_screen": crisis.score, **result.scores}
        common = {
            "content_class": result.content_class,
            "polarity": result.reading.polarity,
            "scores": scores,
            **removed,
        }
        # The moderation model's crisis class holds a card as a crisis only when the crisis
        # screen's classifier read crisis too (two learned readings agree); alone it restricts
        # (below). Its crisis examples are few and short, and it held supportive cards about
        # dark topics ("it's okay not to be okay") as crises; the screen is the crisis reading.
        model_only_crisis = result.crisis and not unsure_crisis
        if result.crisis and not model_only_crisis:
            return ModerationDecision(
                decision=Verdict.HOLD,
                readers=hold,
                crisis=True,
                reasons=(*result.reasons, "crisis language: held, the author gets helplines"),
                crisis_categories=(MODEL_CRISIS_CATEGORY,),
                **common,  # type: ignore[arg-type]
            )
        if result.content_class is ContentClass.TOXIC:
            return ModerationDecision(
                decision=Verdict.HOLD,
                readers=hold,
                crisis=False,
                reasons=result.reasons,
                **common,  # type: ignore[arg-type]
            )
        if (
            result.content_class is ContentClass.VULNERABLE
            or not readable.has_letters
            or unsure_crisis
            or model_only_crisis
        ):
            reasons = result.reasons
            if model_only_crisis:
                reasons = (*reasons, "possible crisis language (moderation model): restricted")
            if not readable.has_letters:
                reasons = (*reasons, "no words to read: low confidence, restricted")
            if unsure_crisis:
                reasons = (
                    *reasons,
                    f"possible crisis language (screen classifier {crisis.probability:.2f}): "
                    "restricted",
                )
            return ModerationDecision(
                decision=Verdict.RESTRICT,
                readers=self._readers(Verdict.RESTRICT, ContentClass.VULNERABLE),
                crisis=False,
                reasons=reasons,
                **common,  # type: ignore[arg-type]
            )
        good = result.scores.get("inspirational", 0.0) + result.scores.get("entertaining", 0.0)
        if good < policy.thresholds.publish_confidence:
            # Read as good, but not surely enough to start on the way to readers who feel bad:
            # restricted, for good (its class stays what the classifier read).
            return ModerationDecision(
                decision=Verdict.RESTRICT,
                readers=self._readers(Verdict.RESTRICT, result.content_class),
                crisis=False,
                reasons=(
                    *result.reasons,
                    f"model: not sure enough to publish (good {good:.2f}): restricted",
                ),
                **common,  # type: ignore[arg-type]
            )
        crisis_doubt = self._crisis_doubt(crisis_readings)
        if crisis_doubt is not None:
            # Read as good, surely enough, but the crisis classifier is not fairly sure it is
            # not a crisis (or could not read it): restricted, for good (a farewell written as
            # a thank-you reads as inspirational to the content model).
            return ModerationDecision(
                decision=Verdict.RESTRICT,
                readers=self._readers(Verdict.RESTRICT, result.content_class),
                crisis=False,
                reasons=(*result.reasons, crisis_doubt),
                **common,  # type: ignore[arg-type]
            )
        return ModerationDecision(
            decision=Verdict.PUBLISH,
            readers=self._readers(Verdict.PUBLISH, result.content_class),
            crisis=False,
            reasons=result.reasons,
            **common,  # type: ignore[arg-type]
        )

    def _embed_once(self, scrubbed: str, original: str, written_in: str) -> None:
        """Embed, in one forward pass, every text the emotion engine and the crisis screen are
        about to embed: the card, and the sentences (or the two windows of a long text) that
        the screen's classifier reads one by one, of the scrubbed text and, when scrubbing
        changed it, of the author's own words.

        Why: each of those readers embedded its texts in a pass of its own, and a pass has a
        fixed cost (12 layers of module calls) besides its tokens: on the longest cards two
        passes cost about 40 % more than one pass over the same texts. The vectors land in the
        shared cache (bot/emotion/embeddings.py), where the readers find them; `_forward` packs
        texts unpadded, so each vector is bit for bit the text's vector alone and no decision
        or score changes. This only predicts what the screen will read (the plain reading of
        the text, as `CrisisScreen.screen` gives its English classifier); a wrong guess costs
        a cache miss, never a different result. Failures are the readers' to handle."""
        texts = [scrubbed]
        model = self._screen.model_for(written_in) if self._screen.classifier else None
        if model in EMBEDDING_LANGUAGES:
            for own in dict.fromkeys((scrubbed, original)):
                reading = plain(own)  # the card's own vector serves a short reading
                texts += embedded_texts(reading, sentences(reading, model), whole=False)
        try:
            cached_embeddings(texts)
        except Exception as exc:  # each reader embeds by itself, or falls back to its rules
            log.error("moderation: no shared embedding pass (%s)", type(exc).__name__)

    def _crisis_doubt(self, readings: list[float | None]) -> str | None:
        """Why a text read as good may still not be published, from the crisis classifier's
        readings of it (scrubbed, and the author's own words): None when every reading is below
        `crisis_publish_below`. A screen without a classifier (rules-only tools and tests)
        asks nothing here; a classifier that did not read the text fails closed."""
        if self._screen.classifier is None:
            return None
        if any(p is None for p in readings):
            return "crisis classifier did not read it: restricted"
        largest = max(p for p in readings if p is not None)
        if largest >= self._policy.thresholds.crisis_publish_below:
            return f"crisis classifier not sure it is no crisis ({largest:.2f}): restricted"
        return None

    def _embedding(self, text: str) -> NDArray[np.float32] | None:
        try:
            return self._classifier.engine.analyse(text).embedding
        except Exception as exc:  # the screen embeds by itself, or falls back to the rules
            log.error("moderation: no shared embedding (%s)", type(exc).__name__)
            return None

    def _readers(
        self, verdict: Verdict, content_class: ContentClass = ContentClass.VULNERABLE
    ) -> frozenset[UserClass]:
        """The decision's readers, never wider than the content class may reach."""
        by_verdict: frozenset[UserClass] = getattr(self._policy.readers, verdict.value)
        return by_verdict & self._policy.content_readers.of(content_class)
