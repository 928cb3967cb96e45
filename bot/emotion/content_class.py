"""A card's content class (seed 1, Fig. 3): inspirational, entertaining, vulnerable or toxic.

Two readers, and either one can only make a card safer (fail closed):
- the moderation model (bot/moderation/model.py), trained on real hate/offensive tweets,
  GoEmotions and written EN/JA examples: probabilities for toxic, offensive, crisis, vulnerable,
  inspirational, entertaining; its thresholds live in policies/moderation.yaml;
- the transparent rules of policies/content.yaml: threat and slur phrases, insults aimed at
  someone else, harmful emotions with hostility, a feeling-bad emotion reading.

Order of the checks, and why:
1. toxic: the model is sure enough (toxic, or toxic + offensive; for text the "ja" analyser
   reads, which the model sees through character n-grams only, a higher hold:
   `toxic_hold_by_analyser`), or a rule says the card attacks others. A person hurting about
   themselves ("I hate myself", "自分はクズだ") is never toxic by the rules: insults count only
   when they point at someone other than the writer.
2. crisis: the model reads crisis language; the class is vulnerable and `crisis` is set, so
   moderation holds the card and the author gets helplines (the crisis screen runs first anyway).
3. vulnerable: sad or self-critical content: the model's bad classes together pass
   `bad_restrict` (the model's six classes sum to 1, so this is also "not more than
   1 - bad_restrict good"), or the emotion reading is a feeling-bad one, or mock praise
   (policies/content.yaml `mock_praise`: praise and a turn, "congrats..., shame..."; the model
   reads the praise and calls it good). How sure the model must
   be before a good card is *published* is moderation's question, not the class's
   (`publish_confidence`, bot/moderation/pipeline.py): a card read as good with less confidence
   keeps its class and is restricted.
4. entertaining: the model says so, or amusement / a laugh marker with light joy.
5. inspirational: everything else.
`needtotalk classify` and moderation both call this, so the same words get the same class.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from bot.domain import (
    ANALYSER_LANGUAGES,
    ContentClass,
    Emotion,
    EmotionReading,
    Language,
    UserClass,
)
from bot.emotion.engine import DEFAULT_POLICIES_DIR, EmotionEngine, get_engine, one_blas_thread
from bot.emotion.phrases import PhraseMatcher
from bot.emotion.policy import ContentPolicy, load_content_policy
from bot.languages import registry
from bot.moderation.model import ModerationModel
from bot.moderation.policy import ModerationPolicy, load_moderation_policy

_ANALYSER = {lang.value: lang for lang in ANALYSER_LANGUAGES}
_CLOSING_QUOTES = "」』\"'”’）)"
_SAID_TO_ME = ("にされ", "扱いさ", "と言わ", "って言わ", "と呼ば", "って呼ば")


@dataclass(frozen=True, slots=True)
class ContentClassResult:
    content_class: ContentClass
    reading: EmotionReading
    reasons: tuple[str, ...]
    # The moderation model's probabilities (toxic, offensive, crisis, vulnerable, ...).
    scores: dict[str, float] = field(default_factory=dict)
    # The model read crisis language (the class is then vulnerable; moderation holds it).
    crisis: bool = False


class ContentClassifier:
    def __init__(
        self,
        policy: ContentPolicy,
        engine: EmotionEngine,
        moderation: ModerationPolicy,
        model: ModerationModel,
    ) -> None:
        self.policy = policy
        self.engine = engine
        self.moderation = moderation
        self.model = model
        toxic = policy.toxic

        def matchers(phrases: dict[str, list[str]]) -> dict[Language, PhraseMatcher]:
            return {
                lang: PhraseMatcher(phrases.get(lang.value, []), lang)
                for lang in ANALYSER_LANGUAGES
            }

        self._threats = matchers(toxic.threats)
        self._insults = matchers(toxic.insults)
        self._slurs = matchers(toxic.slurs)
        self._others = matchers(toxic.other_targets)
        self._self = matchers(toxic.self_targets)
        self._light = matchers(policy.light_markers)
        mock = policy.mock_praise
        self._praise = matchers(mock.praise if mock else {})
        self._turns = matchers(mock.turns if mock else {})
        self._neither = matchers(mock.neither if mock else {})

    def classify(self, text: str, reading: EmotionReading | None = None) -> ContentClassResult:
        analysis = self.engine.analyse(text, reading.language if reading else None)
        reading = reading or analysis.reading
        analyser = registry().get(reading.language).analyser("moderation")
        if analyser is None:
            # The pack declares no moderation analyser (docs/languages.md): no model or phrase
            # list of another language judges it. Never published; the moderation pipeline
            # holds such a card by its `unreadable` rule before it gets here.
            why = f"no moderation analyser for {reading.language.value}: not published"
            return ContentClassResult(ContentClass.VULNERABLE, reading, (why,))
        embedding = analysis.embedding
        if embedding is None:  # an engine built without vectors: embed here
            from bot.emotion.embeddings import cached_embedding

            embedding = cached_embedding(text)
        with one_blas_thread():
            scores = self.model.scores(text, embedding)
        go = analysis.goemotions
        lang = _ANALYSER[analyser]
        lowered = text.lower().replace("’", "'")
        th = self.policy.thresholds
        mth = self.moderation.thresholds
        share = {
            c: sum(s for e, s in reading.scores.items() if e.user_class is c) for c in UserClass
        }

        def result(cls: ContentClass, why: list[str], crisis: bool = False) -> ContentClassResult:
            return ContentClassResult(cls, reading, tuple(why), scores, crisis)

        reasons: list[str] = []
        abusive = scores["toxic"] + scores["offensive"]
        toxic_hold = mth.toxic_hold_for(analyser)
        # Below the analyser's higher hold (Japanese): possibly toxic, so at least vulnerable.
        maybe_toxic = mth.toxic_hold <= scores["toxic"] < toxic_hold
        if scores["toxic"] >= toxic_hold:
            reasons.append(f"model: toxic {scores['toxic']:.2f}")
        elif abusive >= mth.abusive_hold:
            reasons.append(f"model: toxic + offensive {abusive:.2f}")
        threats = self._threats[lang].find(lowered)
        slurs = self._slurs[lang].find(lowered)
        aimed_insults = self._insults_at_others(lowered, lang)
        aimed_at_others = bool(self._others[lang].find(lowered))
        about_self = bool(self._self[lang].find(lowered))
        if threats:
            reasons.append(f"threat phrase: {threats[0]}")
        if slurs:
            reasons.append(f"slur: {slurs[0]}")
        if aimed_insults:
            reasons.append(f"insult aimed at others: {aimed_insults[0]}")
        hostility = max(go["anger"], go["disgust"], go["annoyance"])
        if (
            share[UserClass.HARMFUL] >= th.toxic_harmful_share
            and hostility >= th.toxic_anger_disgust
            and reading.top in (Emotion.HATRED, Emotion.SUPERIORITY, Emotion.NARCISSISM)
            and (aimed_at_others or not about_self)
        ):
            reasons.append(
                f"harmful emotions {share[UserClass.HARMFUL]:.2f} with hostility {hostility:.2f}"
            )
        if reasons:
            return result(ContentClass.TOXIC, reasons)

        if scores["crisis"] >= mth.crisis_hold:
            return result(
                ContentClass.VULNERABLE, [f"model: crisis language {scores['crisis']:.2f}"], True
            )

        # Feeling-bad content that does not attack anyone is vulnerable (seed 1 Fig. 3 has only
        # two bad classes), as is clearly negative content with enough feeling-bad evidence, and
        # whatever the model cannot confidently call good.
        bad = abusive + scores["crisis"] + scores["vulnerable"]
        good = scores["inspirational"] + scores["entertaining"]
        bad_share = share[UserClass.VULNERABLE] + share[UserClass.HARMFUL]
        if maybe_toxic:
            reasons.append(f"model: possibly toxic {scores['toxic']:.2f} ({analyser} analyser)")
        if bad >= mth.bad_restrict:
            reasons.append(f"model: bad content {bad:.2f}")
        mock = self.mock_praise(lowered, lang)
        if mock:
            reasons.append(f"mock praise: {mock}")
        if analysis.affect > 0 and not reading.user_class.feels_good:
            reasons.append(f"{reading.user_class.value} reading ({reading.top.value})")
        elif (
            reading.polarity.neg >= th.vulnerable_negative_share
            and bad_share >= th.vulnerable_class_share
        ):
            reasons.append(f"negative polarity {reading.polarity.neg:.2f}")
        if reasons:
            return result(ContentClass.VULNERABLE, reasons)

        light = self._light[lang].find(lowered)
        if scores["entertaining"] > scores["inspirational"]:
            reasons.append(f"model: entertaining {scores['entertaining']:.2f}")
        if go["amusement"] >= th.entertaining_amusement:
            reasons.append(f"amusement {go['amusement']:.2f}")
        if light and (go["joy"] >= th.entertaining_joy or reading.polarity.pos >= 0.5):
            reasons.append(f"light marker: {light[0]}")
        if reasons:
            return result(ContentClass.ENTERTAINING, reasons)

        if analysis.affect == 0.0:
            neutral = ContentClass(self.policy.neutral_class)
            return result(neutral, [f"says little about feelings; model good {good:.2f}"])
        return result(
            ContentClass.INSPIRATIONAL,
            [f"model: inspirational {scores['inspirational']:.2f}, good {good:.2f}"],
        )

    def mock_praise(self, lowered: str, lang: Language) -> str | None:
        """The first praise and turn phrases found ("congrats … shame it") when the
        lower-cased text has a phrase of both mock-praise lists (policies/content.yaml
        `mock_praise`), else None. Why: the model reads mock praise by its praise and calls it
        good; the turn ("shame it", "not.", "（棒）") is what a reader hears. Such a card is
        restricted as vulnerable, never published."""
        for start, end, _ in self._neither[lang].spans(lowered):
            lowered = lowered[:start] + " " * (end - start) + lowered[end:]
        praise = self._praise[lang].find(lowered)
        turns = self._turns[lang].find(lowered)
        return f"{praise[0]} … {turns[0]}" if praise and turns else None

    def _insults_at_others(self, lowered: str, lang: Language) -> list[str]:
        """Insults whose nearest person word is someone else's (or that have none nearby).

        "you are pathetic" and "idiots everywhere" count; "I'm so stupid" and "he called me
        stupid" do not (the nearest person is the writer), nor Japanese passives ("バカにされた":
        the writer was insulted).
        """
        window = 40 if lang == Language.EN else 12
        after = 12 if lang == Language.EN else 4  # "idiots like you", "バカだよお前"
        targets = [(s, "other") for s, _, _ in self._others[lang].spans(lowered)]
        targets += [(s, "self") for s, _, _ in self._self[lang].spans(lowered)]
        found: list[str] = []
        for start, end, phrase in self._insults[lang].spans(lowered):
            # The writer was called it (a passive, or a quote of what was said to them, closing
            # quote marks included: 昔「役立たず」と言われた, バカって言われた).
            said_to_me = lowered[end:].lstrip(_CLOSING_QUOTES)
            if lang == Language.JA and said_to_me.startswith(_SAID_TO_ME):
                continue
            # The person an insult is about is usually named before it ("you are an idiot",
            # "I feel like an idiot"); one named right after counts only if none is before.
            before = [(start - s, kind) for s, kind in targets if 0 <= start - s <= window]
            behind = [(s - end, kind) for s, kind in targets if 0 <= s - end <= after]
            near = before or behind
            if not near or min(near)[1] == "other":
                found.append(phrase)
        return found


def get_content_classifier(policies_dir: Path | None = None) -> ContentClassifier:
    """The process-wide classifier; it shares get_engine()'s engine and reading cache."""
    return _classifier_for((policies_dir or DEFAULT_POLICIES_DIR).resolve())


@cache
def _classifier_for(policies_dir: Path) -> ContentClassifier:
    return ContentClassifier(
        load_content_policy(policies_dir),
        get_engine(policies_dir),
        load_moderation_policy(policies_dir),
        ModerationModel.load(),
    )


def classify_content(text: str, reading: EmotionReading | None = None) -> ContentClassResult:
    """Content class of a card's text; pass the reading if you already have one."""
    return get_content_classifier().classify(text, reading)
