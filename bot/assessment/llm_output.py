"""What an LLM wrote may be shown to a person only if it says nothing harmful, in their language.

`acceptable_llm_question` (bot.assessment.evidence) checks the form of a rewrite or follow-up;
this checks what it says. The LLM reads the person's words, which can steer it, and a model can
simply get it wrong, so every text it writes for display must:
- be in the person's language, by script: Japanese has kana and is mostly kana/kanji; English is
  mostly Latin letters (so not a Japanese, Chinese or Russian answer to an English speaker);
- carry no crisis language, by the crisis screen that reads people's messages; the bot speaks
  to "you" and the screen's phrases are first person, so the text is screened as written and
  again as if the person had said it ("kill yourself" is read as "kill myself");
- not say anything that no supporter would say to someone who may be low: that nobody would
  miss them, that they might as well give up (the packs' crisis.yaml, never_say: what the
  first-person crisis phrases do not cover);
- not be toxic by the content classifier used for cards (one embedding of one short text);
- mean what the bank means (`rewrite_problem`, `follow_up_problem`): those lists cannot name
  every harmful question ("Isn't it true that you're a burden to everyone?", 死んだほうが楽
  じゃないですか？ pass them all), but a rewrite exists only to reword one bank question, so
  each of its sentences must stay close to that question; see `REWRITE_MIN_SIMILARITY`.

`LlmTextGuard.problem` (and the two above) return why a text fails, or None; the caller then
falls back to the offline question and logs the reason only, never the text.
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import numpy as np

from bot.domain import Language
from bot.emotion.ngrams import ngrams
from bot.safety.crisis_screen import CrisisScreen, normalise

log = logging.getLogger(__name__)

_KANA = re.compile(r"[\u3040-\u30ff\uff66-\uff9f]")
_JAPANESE = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff66-\uff9f]")
_LATIN = re.compile(r"[A-Za-z\u00c0-\u024f]")

# Second person -> first person, for reading the bot's text with the crisis screen's phrases.
_EN_SECOND_PERSON: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(rf"(?<![\w']){you}(?![\w'])"), me)
    for you, me in (
        ("yourselves", "myself"),
        ("yourself", "myself"),
        ("you'?re", "i'm"),
        ("you'?ve", "i've"),
        ("you'?ll", "i'll"),
        ("you'?d", "i'd"),
        ("yours", "mine"),
        ("your", "my"),
        ("ya", "you"),
        ("u", "you"),
    )
)
_EN_YOU = re.compile(r"(?<![\w'])you(?![\w'])")
_JA_SECOND_PERSON = re.compile(r"あなた|あんた|貴方|君|きみ|お前|おまえ")
_SENTENCE_END = re.compile(r"(?<=[.!?。！？])\s*")

# How close LLM-written text must stay to the bank (cosine similarity, see `similarities`).
# Measured with the bank in prompts/<lang>/questions.yaml: for three questions per
# language (lately, alone, worry) five honest rewordings each were written by hand, and compared
# with a set of harmful questions (the two from the review, "Isn't it true that you're a burden
# to everyone?" and 死んだほうが楽じゃないですか？, plus four more per language) taken against
# EVERY bank question (the worst case: any question may be the one being reworded).
#   English, MiniLM: honest rewordings 0.429-0.930 (median 0.79); the review's example at most
#     0.355 against any question (0.174 against "lately"); off-topic harm <= 0.336. Threshold
#     0.40 sits between. A harmful question built on a question's own words is NOT separated:
#     "Don't you think you're a burden to the people around you?" scores 0.413 against "How
#     are things between you and the people around you?"; the other checks must catch it.
#   Japanese, character n-grams (MiniLM is English-trained: there honest rewordings scored
#     0.63-0.93 and the harmful ones 0.65-0.74, no separation): honest 0.192-0.898 (median
#     0.50); 死んだほうが楽じゃないですか？ at most 0.141 against any question. Threshold 0.16.
#     Of the other four harmful ones two stay below (<= 0.144) and two do not: 消えてしまえば楽に
#     なると思いませんか？ 0.192 and あなたはみんなの重荷になっていると思いませんか？ 0.274 share
#     …と思いませんか / あなた with bank questions. Characters cannot tell those apart from
#     honest rewordings; the other checks (never_say) must. An honest rewording that swaps
#     every word for a synonym (このところ for 最近, 当てはまる for 近い) shares few n-grams
#     and may be refused; the offline question is then shown, which is always safe.
# Rewrites that keep the question but add a sentence ("...lately? Isn't it true that you're a
# burden to everyone?" scored 0.70 as a whole) are caught by checking every sentence on its own.
REWRITE_MIN_SIMILARITY: Mapping[Language, float] = {Language.EN: 0.40, Language.JA: 0.16}
"""Per language: the least similarity of each sentence of a rewrite to the question it rewords."""

# Follow-ups have no original question; the closest bank question was measured instead. Five
# honest English follow-ups ("When do those doubts tend to show up the most?", "Can you tell me
# a bit more about what happened?", ...) scored 0.27-0.66 against their closest bank question,
# the harmful ones up to 0.413: no threshold separates them. In Japanese (n-grams) honest
# follow-ups scored 0.17-0.28 and harmful ones up to 0.27: none either. So follow-ups are shown
# in English only, and only when clearly near the bank (above every harmful one measured): this
# keeps 2 of the 5 honest follow-ups and refuses the rest, which costs a question, not safety.
FOLLOW_UP_MIN_SIMILARITY_EN = 0.45
"""English follow-ups: the least similarity of each sentence to its closest bank question."""


def in_language(text: str, language: Language) -> bool:
    """Whether the text is written in the script of `language`.

    Japanese: has kana (Chinese has none) and at least half its letters are kana or kanji, so
    a Japanese sentence may still hold a word like "SNS". English: at least half its letters
    are Latin. A text with no letters at all is in no language.
    """
    letters = [ch for ch in text if ch.isalpha()]
    if not letters:
        return False
    if language == Language.JA:
        japanese = sum(1 for ch in letters if _JAPANESE.match(ch))
        return bool(_KANA.search(text)) and 2 * japanese >= len(letters)
    latin = sum(1 for ch in letters if _LATIN.match(ch))
    return 2 * latin >= len(letters)


def as_if_said_by_the_person(text: str) -> list[str]:
    """The bot's text read as the person's own words: second person turned into first person
    ("you" once as "i" and once as "me", since either may be meant).

    Japanese usually leaves "you" out (死にたいと思いますか？ has no あなた), and then this reads
    nothing new: the text is screened as written only. The meaning check against the bank
    (`LlmTextGuard.rewrite_problem`) is what protects Japanese readers from such questions."""
    clean = normalise(text)
    for pattern, replacement in _EN_SECOND_PERSON:
        clean = pattern.sub(replacement, clean)
    readings = [_EN_YOU.sub(me, clean) for me in ("i", "me")]
    if _JA_SECOND_PERSON.search(clean):
        readings.append(_JA_SECOND_PERSON.sub("私", clean))
    return readings


def content_classifier_toxicity(policies_dir: Path | None = None) -> Callable[[str], bool]:
    """Whether the card content classifier calls a text toxic. The classifier (and the emotion
    engine it embeds with, shared with the questionnaire's text evidence) loads on first use."""

    def is_toxic(text: str) -> bool:
        from bot.domain import ContentClass
        from bot.emotion.content_class import get_content_classifier

        result = get_content_classifier(policies_dir).classify(text)
        return result.content_class is ContentClass.TOXIC

    return is_toxic


def sentences(text: str) -> list[str]:
    """The text's sentences (split after . ! ? 。 ！ ？), each with some letters."""
    parts = (part.strip() for part in _SENTENCE_END.split(text))
    return [part for part in parts if any(ch.isalpha() for ch in part)]


def _ngram_cosine(a: str, b: str) -> float:
    ca, cb = ngrams(a), ngrams(b)
    norm = math.sqrt(sum(v * v for v in ca.values()) * sum(v * v for v in cb.values()))
    return sum(n * cb[g] for g, n in ca.items() if g in cb) / norm if norm else 0.0


def similarities(texts: Sequence[str], references: Sequence[str], language: Language) -> np.ndarray:
    """Cosine similarity of each text (rows) to each reference (columns), by meaning as far as
    the language allows: English by MiniLM sentence embeddings (bot.emotion.embeddings, unit
    vectors), Japanese by character bigrams and kanji (bot.emotion.ngrams), since MiniLM was
    trained on English and does not tell Japanese questions apart."""
    if not texts or not references:
        return np.zeros((len(texts), len(references)))
    if language == Language.JA:
        return np.array([[_ngram_cosine(t, r) for r in references] for t in texts])
    from bot.emotion.embeddings import cached_embeddings

    # the references (bank questions) recur on every check: served from the shared cache
    vectors = cached_embeddings([*texts, *references])
    return np.asarray(vectors[: len(texts)] @ vectors[len(texts) :].T, dtype=np.float64)


class LlmTextGuard:
    """Checks what LLM-written text says before a person sees it (see the module doc).

    `bank_questions`: each language's bank question texts, for follow-ups (which have no
    original question of their own); without them every follow-up is refused."""

    def __init__(
        self,
        screen: CrisisScreen,
        is_toxic: Callable[[str], bool],
        bank_questions: Mapping[Language, Sequence[str]] | None = None,
    ) -> None:
        self.screen = screen
        self.is_toxic = is_toxic
        self.bank_questions = {lang: tuple(qs) for lang, qs in (bank_questions or {}).items()}

    def rewrite_problem(self, text: str, language: Language, original: str) -> str | None:
        """`problem`, and every sentence of `text` must stay close to `original`, the bank
        question it rewords (`REWRITE_MIN_SIMILARITY`)."""
        return self.problem(
            text, language, lambda: self._off_meaning(text, language, (original,), rewrite=True)
        )

    def remark_problem(self, text: str, language: Language, original: str) -> str | None:
        """`problem`, and every sentence of `text` must stay close to the offline remark it
        rewords (an acknowledgement), or to one of that remark's sentences, by the rewrite
        threshold: "Thank you for telling me." matches the thanks, not the whole."""
        references = (original, *sentences(original))
        return self.problem(
            text, language, lambda: self._off_meaning(text, language, references, rewrite=True)
        )

    def follow_up_problem(self, text: str, language: Language) -> str | None:
        """`problem`, and (English only) every sentence of `text` must be close to some bank
        question (`FOLLOW_UP_MIN_SIMILARITY_EN`; why not Japanese is measured there)."""
        if language != Language.EN:
            return "follow-ups are shown in English only"
        questions = self.bank_questions.get(language, ())
        return self.problem(
            text, language, lambda: self._off_meaning(text, language, questions, rewrite=False)
        )

    def _off_meaning(
        self, text: str, language: Language, references: Sequence[str], *, rewrite: bool
    ) -> str | None:
        parts = sentences(text) or [text]
        if not references:
            return "no bank question to compare with"
        closest = similarities(parts, references, language).max(axis=1)
        if rewrite:
            least = REWRITE_MIN_SIMILARITY[language]
            return None if closest.min() >= least else "off the meaning of the bank question"
        least = FOLLOW_UP_MIN_SIMILARITY_EN
        return None if closest.min() >= least else "not close to any bank question"

    def problem(
        self,
        text: str,
        language: Language,
        meaning: Callable[[], str | None] | None = None,
    ) -> str | None:
        """Why `text` may not be shown to a person who speaks `language`, or None if it may.

        The reason names a check, never the text. Cheapest checks first; `meaning` (the check
        against the bank, if any) runs before the content classifier. If a model cannot run,
        the text is refused (the offline question is always safe)."""
        if language not in REWRITE_MIN_SIMILARITY:
            # A language pack the checks below were never measured on (docs/languages.md):
            # its offline texts only, rather than the English or Japanese thresholds.
            return f"no checks measured for {language}"
        if not in_language(text, language):
            return "not in the person's language"
        if any(self.screen.screen(t).is_crisis for t in (text, *as_if_said_by_the_person(text))):
            return "crisis language"
        if self.screen.is_never_said(text):
            return "harmful wording"
        if meaning is not None:
            try:
                off = meaning()
            except Exception as exc:  # the embedding model could not load or run: refuse
                return f"meaning check unavailable ({type(exc).__name__})"
            if off is not None:
                return off
        try:
            toxic = self.is_toxic(text)
        except Exception as exc:  # the model could not load or run: refuse, do not guess
            return f"content check unavailable ({type(exc).__name__})"
        return "toxic by the content classifier" if toxic else None
