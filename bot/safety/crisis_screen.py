"""The crisis screen: the first thing every inbound text meets, in every conversation state.

Two layers, and either one alone makes a text a crisis (issue 10):

- the rules: a transparent phrase screen (policies/safety.yaml, with each language pack's own
  phrases, prompts/<code>/crisis.yaml, merged in). It answers in microseconds, works
  offline from the first second, behaves the same on every machine, and is reviewable by the
  counsellors who own the policy. Its phrases cover explicit and indirect suicide and self-harm
  language and danger from others, in English and Japanese, plus a small list for languages the
  bot does not speak; idioms ("this homework is killing me", "死ぬほど疲れた") excuse only the
  danger words they wholly contain. It stays the fast, explainable first line.
- the classifier (bot/safety/classifier.py): a logistic regression on sentence embeddings and
  character n-grams, trained on written examples, for the phrasings no rule foresaw.

Both read the text the way a person would (bot/safety/reading.py): ignorable characters dropped,
look-alike letters, leetspeak, letter spacing and typos undone, so "k i l l  m y s e l f" and
"kіll mysеlf" (Cyrillic і, е) are caught like "kill myself".
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Literal, TypeVar

import numpy as np
import regex
from numpy.typing import NDArray
from pydantic import BaseModel, ConfigDict, Field, field_validator

from bot.config import PROJECT_ROOT
from bot.languages import ANALYSERS, LanguageRegistry, registry
from bot.patterns import compiled
from bot.safety.classifier import (
    CrisisClassifier,
    load_crisis_classifier,
    sentences,
    too_many_sentences,
)
from bot.safety.reading import Unmasker, has_ignorable, plain, spaced, typo_table, words_of
from bot.yaml_files import read_yaml

log = logging.getLogger(__name__)
_T = TypeVar("_T")

DEFAULT_POLICY_PATH = PROJECT_ROOT / "policies" / "safety.yaml"
# Languages without a pack written without spaces between words: their patterns are not wrapped
# in word bounds (a pack says it in its manifest, `spaces_between_words`).
_UNSPACED = frozenset({"zh", "ko"})
_KANA = regex.compile(r"[\p{Hiragana}\p{Katakana}]")
_HAN = regex.compile(r"\p{Han}")
_HANGUL = regex.compile(r"\p{Hangul}")
_CYRILLIC = regex.compile(r"\p{Cyrillic}")
# Where a sentence's clauses meet (CrisisScreen._told_as_now): commas, and the English
# conjunctions that join a past clause to a present one ("I was bullied and I want to die").
_CLAUSE_END = regex.compile(r"[、，,;；]|\s(?:and|but|so|because|yet)\s", regex.IGNORECASE)
_LATIN = regex.compile(r"[a-z]")


class WeightedPattern(BaseModel):
    pattern: str
    weight: float = Field(ge=0.0)

    @field_validator("pattern")
    @classmethod
    def _compiles(cls, value: str) -> str:
        compiled(value)
        return value


class CategoryPolicy(BaseModel):
    """A category of danger. policies/safety.yaml names it and holds the patterns of languages
    without a pack; each pack's crisis.yaml brings its label and patterns (merged under its
    code by `with_pack_phrases`)."""

    label: dict[str, str] = Field(default_factory=dict)
    patterns: dict[str, list[WeightedPattern]] = Field(default_factory=dict)


class TyposPolicy(BaseModel):
    """Misspellings the screen corrects before the rules read a text (bot/safety/reading.py)."""

    targets: list[str] = Field(default_factory=list)
    real_words: list[str] = Field(default_factory=list)
    extra: dict[str, str] = Field(default_factory=dict)


class ClassifierPolicy(BaseModel):
    threshold: float = Field(default=0.5, gt=0.0, lt=1.0)
    by_language: dict[str, float] = Field(default_factory=dict)
    # The model that reads text in a language without a pack (the bot does not speak it): a
    # false alarm costs a kind message, a miss can cost a life, so the English model reads it
    # as written unless this says "none". Languages with a pack name theirs in its manifest.
    unspoken_model: Literal["en", "ja", "none"] = "en"
    # What counsellors read when only this layer fired (it has no rule category): each pack's
    # `classifier_label`, merged by `with_pack_phrases`.
    label: dict[str, str] = Field(default_factory=dict)

    def threshold_for(self, model: str) -> float:
        """The threshold of the crisis model `model` ("en", "ja": CrisisResult.model)."""
        return self.by_language.get(model, self.threshold)

    @field_validator("by_language")
    @classmethod
    def _models_only(cls, value: dict[str, float]) -> dict[str, float]:
        # Keyed by the classifier's model (the crisis analyser a pack names), not by language.
        unknown = sorted(set(value) - set(ANALYSERS))
        if unknown:
            raise ValueError(f"classifier.by_language names no crisis model: {unknown}")
        return value


class RecoveryPolicy(BaseModel):
    """When the rules' danger words sit in a story that is over, or about the topic rather than
    the writer now ("two years ago I tried to end my life; today I'm grateful", "二年前に自殺未遂を
    したけど、今は..."): the rules do not read tense, so a recovery cue lets the classifier decide.

    The rules' hit is excused only when all of these hold: a `cues` pattern matches (a past time,
    recovery, or talk about the topic), no `relapse` pattern matches (again, lately, tonight,
    right now, また, 最近...), and the classifier ran and gave a probability below
    `max_probability` (lower than its own threshold: it must be fairly sure). No classifier, no
    excuse: fail closed."""

    max_probability: float = Field(0.3, gt=0.0, le=0.5)
    cues: dict[str, list[str]] = Field(default_factory=dict)
    relapse: dict[str, list[str]] = Field(default_factory=dict)
    # Sixth round: how a story's sentences are told apart (CrisisScreen._present_sentences).
    # `present`: a sentence about now ("now I...", "今は..."), read even when it also holds a
    # cue; `past`: a sentence told in the past tense ("I wrote a note.", "...書いてた。"). Neither
    # makes a story: only `cues` (a distance in time, recovery, the topic) do.
    present: dict[str, list[str]] = Field(default_factory=dict)
    past: dict[str, list[str]] = Field(default_factory=dict)
    # Means and acts (pills, rope, a blade, a height; 薬, ロープ...): a past-tense sentence that
    # names one is still read as now ("I took all my pills." may be minutes old).
    means: dict[str, list[str]] = Field(default_factory=dict)

    @field_validator("cues", "relapse", "present", "past", "means")
    @classmethod
    def _all_compile(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        for patterns in value.values():
            for pattern in patterns:
                compiled(pattern)
        return value


class SafetyPolicy(BaseModel):
    """policies/safety.yaml, and, once `with_pack_phrases` has merged them, the language packs'
    own phrases keyed by their codes (the phrase tables below, each category's label and
    patterns, the recovery cues; the packs' typos join `typos`)."""

    threshold: float = Field(gt=0.0)
    idioms: dict[str, list[str]] = Field(default_factory=dict)
    softeners: dict[str, list[str]] = Field(default_factory=dict)
    categories: dict[str, CategoryPolicy]
    # What the bot itself must never say to a person (LLM-written questions are checked).
    never_say: dict[str, list[str]] = Field(default_factory=dict)
    # Days the text kept for a counsellor's review (flags, messages in a case) outlives the
    # case's resolution; then it is deleted (bot/store/cases.py). /forget deletes it at once.
    case_retention_days: int = Field(30, ge=0, le=365)
    typos: TyposPolicy = Field(default_factory=lambda: TyposPolicy())
    classifier: ClassifierPolicy = Field(default_factory=lambda: ClassifierPolicy())
    recovery: RecoveryPolicy = Field(default_factory=lambda: RecoveryPolicy())

    @field_validator("idioms", "softeners", "never_say")
    @classmethod
    def _all_compile(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        for patterns in value.values():
            for pattern in patterns:
                compiled(pattern)
        return value


@dataclass(frozen=True, slots=True)
class CrisisResult:
    """What the screen read. `layers` says which caught it ("rules", "classifier", both or
    none); `language` is the language the text was read in ("en", "ja", "de", ...), and
    `spoken` whether the bot speaks it (if not, the answer uses the international helplines)."""

    is_crisis: bool
    score: float
    categories: tuple[str, ...]
    layers: tuple[str, ...] = ()
    language: str = "en"
    spoken: bool = True
    probability: float | None = None  # the classifier's, when it ran
    # Which classifier model read it ("en", "ja"), or None: the language's pack declares no
    # crisis analyser (docs/languages.md), so the rules alone screened it.
    model: str | None = None
    # The rules matched, but in a recovery story the classifier read as safe (RecoveryPolicy).
    excused: bool = False


def normalise(text: str) -> str:
    """The plain reading (bot/safety/reading.py): NFKC, default-ignorable code points dropped,
    lower case, plain quotes, whitespace collapsed. Used for the never-say list too."""
    return plain(text)


def _wrap(pattern: str, language: str) -> str:
    """Patterns match whole words, except in languages written without spaces (ja, zh, ko)."""
    languages = registry()
    if language in languages:
        spaced = languages.get(language).manifest.spaces_between_words
    else:
        spaced = language not in _UNSPACED
    return rf"(?<![\w'])(?:{pattern})(?![\w'])" if spaced else pattern


class CrisisScreen:
    """`screen(text)` for every inbound text. `classifier=None` screens with the rules alone
    (tools that read the bot's own wording use that; the conversation passes the classifier)."""

    def __init__(self, policy: SafetyPolicy, classifier: CrisisClassifier | None = None) -> None:
        self.policy = policy
        self.classifier = classifier
        blanks = [
            _wrap(p, lang)
            for table in (policy.idioms, policy.softeners)
            for lang, patterns in table.items()
            for p in patterns
        ]
        self._harmless = compiled("|".join(blanks), re.IGNORECASE) if blanks else None
        never = [_wrap(p, lang) for lang, patterns in policy.never_say.items() for p in patterns]
        self._never_say = compiled("|".join(never)) if never else None
        self._danger: list[tuple[str, str, float, re.Pattern[str]]] = [
            (name, lang, item.weight, compiled(_wrap(item.pattern, lang), re.IGNORECASE))
            for name, category in policy.categories.items()
            for lang, items in category.patterns.items()
            for item in items
            if item.weight > 0
        ]
        english = [
            item.pattern
            for category in policy.categories.values()
            for item in category.patterns.get("en", [])
        ]
        # Letter-spaced words are split again by the words the English rules are made of.
        vocabulary = words_of([*english, *policy.idioms.get("en", []), *policy.typos.targets])
        self._unmasker = Unmasker(
            vocabulary=vocabulary,
            typos=typo_table(policy.typos.targets, policy.typos.extra, policy.typos.real_words),
        )
        # The languages the bot speaks: the language packs (docs/languages.md). A crisis read
        # in any other is answered with the international helplines.
        self._languages = registry()
        self._spoken = frozenset(self._languages.codes)

        def union(table: dict[str, list[str]]) -> re.Pattern[str] | None:
            wrapped = [_wrap(p, lang) for lang, patterns in table.items() for p in patterns]
            return compiled("|".join(wrapped), re.IGNORECASE) if wrapped else None

        self._recovery = union(policy.recovery.cues)
        self._relapse = union(policy.recovery.relapse)
        self._present = union(policy.recovery.present)
        self._past = union(policy.recovery.past)
        self._means = union(policy.recovery.means)

    def is_never_said(self, text: str) -> bool:
        """Whether the text says what no supporter says to someone who may be low (the policy's
        never_say): used on what an LLM wrote for the bot, not on people's messages."""
        return self._never_say is not None and bool(self._never_say.search(normalise(text)))

    def readings(self, text: str) -> list[str]:
        """Every reading the rules search: plain, ignorable characters read as spaces (when
        there are any: "kill\u200bmyself"), and the unmasked ones (bot/safety/reading.py)."""
        out = [plain(text)]
        variants = [spaced(text)]
        if has_ignorable(text):
            out.append(plain(text, ignorable_as_space=True))
            variants.append(spaced(text, ignorable_as_space=True))
        for variant in variants:
            for reading in self._unmasker.readings(variant):
                if reading not in out:
                    out.append(reading)
        return out

    def screen(self, text: str, embedding: NDArray[np.float32] | None = None) -> CrisisResult:
        """Rules, then the classifier. `embedding`: the MiniLM vector of `text` when the caller
        already has it (moderation shares the emotion engine's), so the text is embedded once;
        it is used only when the classifier reads the text as written (nothing unmasked)."""
        readings = self.readings(text)
        score, hits, hit_languages = self._rules(readings)
        language = self._language(readings[0], hit_languages)
        rules_say = score >= self.policy.threshold
        probability = None
        present: list[str] = []  # the sentences about now, in a story told as over
        model = self.model_for(language)
        if self.classifier is not None and readings[0] and model is not None:
            # The unmasked reading for the languages the models were built for; others as
            # written (folding Cyrillic to Latin look-alikes would turn Russian into nonsense).
            model_text = readings[-1] if language in ANALYSERS else readings[0]
            vector = embedding if model_text == readings[0] else None
            # A text too long to read sentence by sentence is no story (its runs of several
            # sentences have no one tense): review of the seventh round, a crisis after the
            # twelfth sentence of a story went unread.
            story = self._story_cue(readings[0]) and not too_many_sentences(model_text, model)
            if story:
                present = self._present_sentences(model_text, model)
            try:
                if present:
                    # A story that is over, told in several sentences: what the writer says of
                    # now decides (the sentences without a past-time or recovery cue).
                    probability = self.classifier.largest(present, model)
                else:
                    # Sentence by sentence too (a buried crisis sentence), except in a story in
                    # one sentence, whose past-tense half read alone must not be flagged.
                    probability = self.classifier.probability(
                        model_text, model, vector, by_sentence=not story
                    )
            except Exception as exc:  # the rules have screened: never lose the answer to a model
                log.error("crisis classifier failed (%s); rules only", type(exc).__name__)
        model_says = (
            probability is not None
            and model is not None
            and probability >= self.policy.classifier.threshold_for(model)
        )
        excused = rules_say and self._recovery_story(readings[0], probability)
        if excused and present and self._present_rules_hit(present):
            excused = False  # the rules' danger words are in what the writer says of now
        if excused and self._rules_fire_outside_the_past(readings[0], model or language):
            excused = False  # "I'm at my lowest and I want to die": a cue, but told as now
        if excused:
            rules_say = False
            hits = []
        layers = tuple(
            name for name, said in (("rules", rules_say), ("classifier", model_says)) if said
        )
        if model_says and not hits:
            hits.append("classifier")
        return CrisisResult(
            is_crisis=rules_say or model_says,
            score=score,
            categories=tuple(hits),
            layers=layers,
            language=language,
            spoken=language in self._spoken,
            probability=probability,
            model=model if probability is not None else None,
            excused=excused,
        )

    def model_for(self, language: str) -> str | None:
        """The classifier model for text read in `language`: its pack's crisis analyser (None
        when the pack says `none`), or the policy's `unspoken_model` for a language without a
        pack."""
        if language in self._languages:
            return self._languages.get(language).analyser("crisis")
        unspoken = self.policy.classifier.unspoken_model
        return None if unspoken == "none" else unspoken

    def _recovery_story(self, clean: str, probability: float | None) -> bool:
        """A story that is over (RecoveryPolicy): a cue, no relapse cue, and the classifier
        fairly sure it is not a crisis. Without the classifier's probability: never."""
        # `not <`: a NaN probability is no reading at all (fail closed: nothing is excused)
        if probability is None or not probability < self.policy.recovery.max_probability:
            return False
        return self._story_cue(clean)

    def _present_sentences(self, text: str, language: str) -> list[str]:
        """What the writer says of now, in a story told in several sentences; [] for one
        sentence (read as a whole).

        A sentence is about now when it has a present cue ("now I...", "今は...": the story's
        ending, even when it also names the past), or when it has neither a recovery cue nor
        the past tense ("I wrote a note.", "...書いてた。") unless the rules fire on it. Sixth
        round: before it, every sentence without a cue was read as now, so the past-tense half
        of "中学で...遺書まで書いた。今は教員になって..." was flagged and its present half, holding
        the cue 今は, ignored. The tense is read only in a story that says what is now (some
        sentence has a present cue); otherwise, as in the fifth round, the sentences without a
        cue are read, or the last one when every sentence has one (a story ends in the
        present). Fail closed: a past-tense sentence the rules fire on ("I took the pills.")
        is always read, and a recent time ("last night", "an hour ago", 昨日, さっき) is a
        relapse cue, so that text is no story at all."""
        if self._recovery is None:
            return []
        parts = sentences(text, language)
        if len(parts) < 2:
            return []
        uncued = [p for p in parts if not self._recovery.search(p)]
        now = self._present
        if now is None or not any(now.search(p) for p in parts):
            return uncued or parts[-1:]
        return [
            p
            for p in parts
            if now.search(p) or (p in uncued and (not self._past_tense(p) or self._rules_fire(p)))
        ]

    def _past_tense(self, sentence: str) -> bool:
        """Whether a sentence is told in the past tense and names no means or act
        (RecoveryPolicy.means: "I took all my pills." may be minutes old, so it is read as now
        whatever its tense)."""
        if not self._told_in_past(sentence):
            return False
        return self._means is None or not self._means.search(sentence)

    def _rules_fire(self, sentence: str) -> bool:
        """Whether the rules fire on one sentence (read in every reading)."""
        return self._rules(self.readings(sentence))[0] >= self.policy.threshold

    def _present_rules_hit(self, present: list[str]) -> bool:
        """Whether the rules fire on any of the story's present sentences that hold no
        recovery cue. (A sentence with both a cue and a present cue, "My friend died by suicide
        and now my son won't talk", is read by the classifier; its danger words are the
        story's, as before the sixth round: only the sentences without a cue were checked.)"""
        return any(
            self._rules_fire(p)
            for p in present
            if self._recovery is None or not self._recovery.search(p)
        )

    def _rules_fire_outside_the_past(self, text: str, language: str) -> bool:
        """Whether the rules fire on a sentence not told in the past tense (or on the whole
        text, when it is one sentence without a past form).

        Fail closed: a recovery cue excuses the rules only for danger words the writer tells as
        past. Without this, a cue that also occurs in present speech ("two years sober and I
        want to die", "死にたいと思うことがある。今は限界。") excused a crisis said as now
        whenever the classifier read the text low (found in review after the sixth round)."""
        if too_many_sentences(text, language):
            # a text this long is read in runs of several sentences (sentences()), whose tense
            # is no one clause's: a story this long excuses nothing (found in review of the
            # seventh round: "Years ago..." then 14 sentences, then "I'm going to kill
            # myself." was excused as a story)
            return True
        return any(self._told_as_now(part) for part in sentences(text, language) or [text])

    def _told_as_now(self, sentence: str) -> bool:
        """Whether the rules fire on this sentence in a clause not told in the past. A
        sentence is read clause by clause ("二年前に自殺未遂をしたけど、今は…", "I was at my
        lowest, and I want to die"): the clauses the rules fire on alone decide; when none
        fires alone, the whole sentence does. A clause naming a means, plan or decision is
        read as now whatever its tense (`_past_tense`, as for a story's present sentences):
        review of the seventh round, "自殺のニュースを見て決心した" (saw the news about suicide
        and made up my mind) was excused as a story that is over."""
        if not self._rules_fire(sentence):
            return False
        clauses = [c for c in _CLAUSE_END.split(sentence) if c.strip()]
        firing = [c for c in clauses if self._rules_fire(c)] if len(clauses) > 1 else []
        return any(not self._past_tense(c) for c in firing or [sentence])

    def _told_in_past(self, clause: str) -> bool:
        """Whether a sentence or clause is told in the past tense (RecoveryPolicy.past; some
        patterns are anchored at its start, so a clause is read without its leading space)."""
        return self._past is not None and bool(self._past.search(clause.strip()))

    def _story_cue(self, clean: str) -> bool:
        """A recovery cue (a past time, recovery, talk about the topic) and no relapse cue."""
        if self._recovery is None or not self._recovery.search(clean):
            return False
        return self._relapse is None or not self._relapse.search(clean)

    def rules_only(self, text: str) -> CrisisResult:
        """The first layer alone (for benchmarks and tools that must not load the model)."""
        readings = self.readings(text)
        score, hits, hit_languages = self._rules(readings)
        language = self._language(readings[0], hit_languages)
        is_crisis = score >= self.policy.threshold
        return CrisisResult(
            is_crisis=is_crisis,
            score=score,
            categories=tuple(hits),
            layers=("rules",) if is_crisis else (),
            language=language,
            spoken=language in self._spoken,
        )

    def _rules(self, readings: list[str]) -> tuple[float, list[str], list[str]]:
        score = 0.0
        hits: list[str] = []
        languages: list[str] = []
        for clean in readings:
            # Found only once a danger pattern matches: most texts match none, and the idioms
            # are the slowest single search on a long text.
            harmless: list[tuple[int, int]] | None = None
            for name, lang, weight, pattern in self._danger:
                for match in pattern.finditer(clean):
                    if harmless is None:
                        harmless = self._harmless_spans(clean)
                    # An idiom excuses only danger words it wholly contains: "to die for" must
                    # not hide "I want to die for real".
                    if any(s <= match.start() and match.end() <= e for s, e in harmless):
                        continue
                    score = max(score, weight)
                    if name not in hits:
                        hits.append(name)
                    if lang not in languages:
                        languages.append(lang)
                    break
        return score, hits, languages

    def _language(self, clean: str, hit_languages: list[str]) -> str:
        """The language a text is read in: a spoken language whose phrases matched, else another
        language whose phrases matched, else the script (kana: ja; Hangul: ko; Cyrillic: ru;
        Han alone: ja, as the bot's users write it; anything else: the default language)."""
        for lang in hit_languages:
            if lang in self._spoken:
                return lang
        if hit_languages:
            return hit_languages[0]
        if _KANA.search(clean):
            return "ja"
        if _HANGUL.search(clean):
            return "ko"
        latin = len(_LATIN.findall(clean))
        if len(_CYRILLIC.findall(clean)) > latin:
            return "ru"
        if _HAN.search(clean) and len(_HAN.findall(clean)) >= latin:
            return "ja"
        return self._languages.default

    def _harmless_spans(self, clean: str) -> list[tuple[int, int]]:
        if self._harmless is None:
            return []
        return [m.span() for m in self._harmless.finditer(clean)]

    def label(self, category: str, language: str) -> str:
        """A category's label for counsellors (`category_label`)."""
        return category_label(self.policy, category, language, self._languages.default)


def category_label(policy: SafetyPolicy, category: str, language: str, default: str) -> str:
    """What counsellors read for a flag's category, in `language` or else the default
    language's (every category has one: `with_pack_phrases` refuses a policy without it).
    "classifier" (only the learned layer fired) has no rule category: the packs' plain
    description of it. Anything else (a moderation flag's reason) is shown as it is."""
    if category in policy.categories:
        labels = policy.categories[category].label
    elif category == "classifier":
        labels = policy.classifier.label
    else:
        return category.replace("_", " ")
    return labels.get(language) or labels[default]


class PackCrisisPhrases(BaseModel):
    """A language pack's crisis phrases (its manifest's `crisis_phrases`, e.g.
    prompts/en/crisis.yaml), merged into policies/safety.yaml's under the pack's code: labels
    and patterns of the policy's categories (a pack adds no category), idioms and softeners,
    what the bot must never say, recovery and relapse cues, and misspellings of its crisis words
    (`typos`: they join the policy's, which every text is read through)."""

    model_config = ConfigDict(extra="forbid")

    labels: dict[str, str] = Field(default_factory=dict)
    classifier_label: str | None = None
    patterns: dict[str, list[WeightedPattern]] = Field(default_factory=dict)
    idioms: list[str] = Field(default_factory=list)
    softeners: list[str] = Field(default_factory=list)
    never_say: list[str] = Field(default_factory=list)
    recovery_cues: list[str] = Field(default_factory=list)
    relapse: list[str] = Field(default_factory=list)
    present_cues: list[str] = Field(default_factory=list)
    past_tense: list[str] = Field(default_factory=list)
    means: list[str] = Field(default_factory=list)
    typos: TyposPolicy | None = None

    @field_validator(
        "idioms",
        "softeners",
        "never_say",
        "recovery_cues",
        "relapse",
        "present_cues",
        "past_tense",
        "means",
    )
    @classmethod
    def _all_compile(cls, value: list[str]) -> list[str]:
        for pattern in value:
            compiled(pattern)
        return value


def _packs_first(table: dict[str, _T], own: dict[str, _T]) -> dict[str, _T]:
    """The packs' entries (in the registry's order: the default first), then the policy's own.
    Order matters: the screen joins each table into one alternation, and in an alternation the
    first branch that matches at a position decides the span an idiom excuses."""
    return {**table, **{code: value for code, value in own.items() if code not in table}}


def _merge_typos(policy: TyposPolicy, extra: TyposPolicy, path: Path) -> TyposPolicy:
    clash = {k for k, v in extra.extra.items() if policy.extra.get(k, v) != v}
    if clash:
        raise ValueError(f"{path}: typos.extra reads {sorted(clash)} otherwise than another list")
    return TyposPolicy(
        targets=[*policy.targets, *(t for t in extra.targets if t not in policy.targets)],
        real_words=[
            *policy.real_words,
            *(w for w in extra.real_words if w not in policy.real_words),
        ],
        extra={**policy.extra, **extra.extra},
    )


def with_pack_phrases(policy: SafetyPolicy, languages: LanguageRegistry) -> SafetyPolicy:
    """The policy with every pack's crisis phrases added under its code. A pack may not also
    have phrases under its code in the policy (one place per language), nor name a category the
    policy lacks; after the merge every category has a label in the default language (what a
    counsellor reads when a language has none)."""
    merged = policy.model_copy(deep=True)
    own: dict[str, PackCrisisPhrases] = {}
    for code, pack in languages.packs.items():
        if not pack.manifest.crisis_phrases:
            continue
        path = pack.path(pack.manifest.crisis_phrases)
        phrases = PackCrisisPhrases.model_validate(read_yaml(path))
        unknown = (set(phrases.patterns) | set(phrases.labels)) - set(merged.categories)
        if unknown:
            raise ValueError(f"{path}: categories not in policies/safety.yaml: {sorted(unknown)}")
        tables = (
            merged.idioms,
            merged.softeners,
            merged.never_say,
            merged.recovery.cues,
            merged.recovery.relapse,
            merged.recovery.present,
            merged.recovery.past,
            merged.recovery.means,
        )
        already = [name for name, c in merged.categories.items() if code in c.patterns]
        if already or any(code in table for table in tables):
            raise ValueError(
                f"{path}: policies/safety.yaml has {code!r} phrases too; keep them in one place"
            )
        if phrases.typos is not None:
            merged.typos = _merge_typos(merged.typos, phrases.typos, path)
        own[code] = phrases
    for name, category in merged.categories.items():
        category.patterns = _packs_first(
            {code: list(p.patterns[name]) for code, p in own.items() if name in p.patterns},
            category.patterns,
        )
        category.label = _packs_first(
            {code: p.labels[name] for code, p in own.items() if name in p.labels}, category.label
        )
    merged.idioms = _packs_first({c: p.idioms for c, p in own.items() if p.idioms}, merged.idioms)
    merged.softeners = _packs_first(
        {c: p.softeners for c, p in own.items() if p.softeners}, merged.softeners
    )
    merged.never_say = _packs_first(
        {c: p.never_say for c, p in own.items() if p.never_say}, merged.never_say
    )
    merged.recovery.cues = _packs_first(
        {c: p.recovery_cues for c, p in own.items() if p.recovery_cues}, merged.recovery.cues
    )
    merged.recovery.relapse = _packs_first(
        {c: p.relapse for c, p in own.items() if p.relapse}, merged.recovery.relapse
    )
    merged.recovery.present = _packs_first(
        {c: p.present_cues for c, p in own.items() if p.present_cues}, merged.recovery.present
    )
    merged.recovery.past = _packs_first(
        {c: p.past_tense for c, p in own.items() if p.past_tense}, merged.recovery.past
    )
    merged.recovery.means = _packs_first(
        {c: p.means for c, p in own.items() if p.means}, merged.recovery.means
    )
    merged.classifier.label = _packs_first(
        {c: p.classifier_label for c, p in own.items() if p.classifier_label},
        merged.classifier.label,
    )
    unlabelled = [n for n, c in merged.categories.items() if languages.default not in c.label]
    if languages.default not in merged.classifier.label:
        unlabelled.append("classifier (classifier_label)")
    if unlabelled:
        raise ValueError(
            f"crisis categories without a label in the default language "
            f"({languages.default}, its pack's crisis phrases): {unlabelled}"
        )
    return merged


def load_safety_policy(
    path: Path | None = None, languages: LanguageRegistry | None = None
) -> SafetyPolicy:
    """policies/safety.yaml with the language packs' own crisis phrases (the active registry's
    unless `languages` is given)."""
    raw = read_yaml(path or DEFAULT_POLICY_PATH)
    return with_pack_phrases(SafetyPolicy.model_validate(raw), languages or registry())


@cache
def default_screen() -> CrisisScreen:
    """The shipped rules alone, for tools that must not load the sentence model."""
    return CrisisScreen(load_safety_policy())


@cache
def full_screen() -> CrisisScreen:
    """The shipped rules and classifier, as the conversation screens (loads the sentence model on
    first use)."""
    return CrisisScreen(load_safety_policy(), load_crisis_classifier())


def screen(text: str) -> CrisisResult:
    """Screen one text as the conversation does (for tools; the service holds its own screen)."""
    return full_screen().screen(text)
