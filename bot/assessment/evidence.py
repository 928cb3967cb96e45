"""How each kind of evidence becomes a bounded shift of log-probabilities.

Quick replies are exact Bayes updates with the bank's likelihoods (bot.assessment.engine). Free
text and the LLM are softer evidence, so each becomes a centred log-likelihood vector shrunk to a
bound from policies/assessment.yaml (`information.bounded_log_likelihood`): one message, however
it is written, can move the posterior only so far. Also here: the check that anything the LLM
wrote for display looks like one plain question.
"""

from __future__ import annotations

import re

import numpy as np

from bot.assessment.bank import Question, QuestionKind
from bot.assessment.information import bounded_log_likelihood, normalise
from bot.assessment.policy import LlmLimits, TextEvidence
from bot.assessment.state import LlmReading
from bot.domain import EMOTIONS, EmotionReading, MoodLevel

MOOD_LEVELS = len(MoodLevel)
_UNSAFE_IN_LLM_TEXT = re.compile(r"https?:|www\.|://|@|<|>|`|\{|\}|\d{4,}", re.IGNORECASE)


def acceptable_llm_question(text: str | None, max_chars: int) -> bool:
    """Whether LLM-written text may be shown to the person as a question.

    The LLM reads the person's words, which may be written to steer it; so whatever it writes for
    display must look like one short question: no links, handles, markup or long numbers, at most
    two lines, ending in a question mark.
    """
    if not text:
        return False
    stripped = text.strip()
    return (
        0 < len(stripped) <= max_chars
        and stripped.count("\n") <= 1
        and stripped.endswith(("?", "？"))
        and not _UNSAFE_IN_LLM_TEXT.search(stripped)
    )


def acceptable_llm_remark(text: str | None, max_chars: int) -> bool:
    """Whether LLM-written text may be shown as an acknowledgement: like a question's form check
    (short, at most two lines, no links, handles, markup or long numbers) but no question at
    all, since the bank's question follows it."""
    if not text:
        return False
    stripped = text.strip()
    return (
        0 < len(stripped) <= max_chars
        and stripped.count("\n") <= 1
        and "?" not in stripped
        and "？" not in stripped
        and not _UNSAFE_IN_LLM_TEXT.search(stripped)
    )


def text_emotion_shift(reading: EmotionReading, settings: TextEvidence) -> np.ndarray | None:
    """The emotion engine's distribution as evidence: floored (never rules an emotion out),
    tempered by `weight`, bounded by `max_log_shift`. None if it read nothing."""
    scores = np.array([max(float(reading.scores.get(e, 0.0)), 0.0) for e in EMOTIONS])
    if scores.sum() <= 0:
        return None
    uniform = np.full(len(EMOTIONS), 1.0 / len(EMOTIONS))
    likelihood = (1 - settings.floor) * normalise(scores) + settings.floor * uniform
    shift = bounded_log_likelihood(likelihood**settings.weight, settings.max_log_shift)
    return shift if shift.any() else None


def text_mood_shift(reading: EmotionReading, settings: TextEvidence) -> np.ndarray | None:
    """Polarity as mood evidence. Seed 2 reads mood from the balance of negative and positive
    words; here only as a nudge, as strong as the balance is one-sided: all-negative text points
    at level 3 with the full bound, all-positive at level 0, an even balance (the emotion
    engine's "no evidence", 0.5 / 0.5) not at all."""
    pos, neg = reading.polarity.pos, reading.polarity.neg
    if pos + neg <= 0.0:
        return None
    balance = (neg - pos) / (pos + neg)
    if abs(balance) < 1e-6:
        return None
    # Steeper than linear: the emotion engine smooths its shares, so 0.8 / 0.2 is already a
    # clearly one-sided text.
    centre = float(np.clip(1.5 + 2.5 * balance, 0.0, 3.0))
    levels = np.arange(MOOD_LEVELS)
    likelihood = np.exp(-((levels - centre) ** 2) / 2.0)
    return abs(balance) * bounded_log_likelihood(likelihood, settings.mood_max_log_shift)


def llm_shifts(
    reading: LlmReading, question: Question | None, limits: LlmLimits
) -> tuple[np.ndarray | None, np.ndarray | None]:
    """(emotion shift, mood shift) from the LLM's reading, each bounded by `llm.max_log_shift`.

    Strengths s in [0, 1] become likelihoods 0.2 + s; a named option counts only if it belongs
    to the current bank question, as that option's likelihood to the power `option_weight`.
    """
    emotion_log = np.zeros(len(EMOTIONS))
    if reading.emotions:
        strengths = np.array([min(max(reading.emotions.get(e, 0.0), 0.0), 1.0) for e in EMOTIONS])
        emotion_log += np.log(0.2 + strengths)
    mood_log = np.zeros(MOOD_LEVELS)
    if reading.mood_level is not None:
        hinted = np.arange(MOOD_LEVELS) == int(reading.mood_level)
        mood_log += np.log(np.where(hinted, 0.6, 0.4 / (MOOD_LEVELS - 1)))
    if question is not None and reading.option_id is not None:
        option_ids = [o.id for o in question.options]
        if reading.option_id in option_ids:
            row = question.matrix[option_ids.index(reading.option_id)]
            if question.kind is QuestionKind.EMOTION:
                emotion_log += limits.option_weight * np.log(row)
            else:
                mood_log += limits.option_weight * np.log(row)
    emotion = bounded_log_likelihood(np.exp(emotion_log), limits.max_log_shift)
    mood = bounded_log_likelihood(np.exp(mood_log), limits.max_log_shift)
    return (emotion if emotion.any() else None), (mood if mood.any() else None)
