"""Free text in the assessment is read in its own language, with the real emotion engine."""

from __future__ import annotations

import pytest

from bot.assessment.engine import AssessmentEngine
from bot.assessment.loading import load_engine
from bot.config import Settings
from bot.domain import Emotion, Language, UserClass

pytestmark = pytest.mark.slow
FLAT = 1 / 16


@pytest.fixture(scope="module")
def engine() -> AssessmentEngine:
    return load_engine(Settings(_env_file=None), use_llm=False)


@pytest.mark.parametrize(
    ("text", "session"),
    [
        ("自分が嫌いです。何をやってもダメだ", Language.EN),
        ("I hate myself, I'm useless", Language.JA),
    ],
)
def test_text_in_another_language_than_the_session_still_counts(
    engine: AssessmentEngine, text: str, session: Language
) -> None:
    other = Language.JA if session is Language.EN else Language.EN
    mixed = engine.answer_text(engine.start(session), text)
    native = engine.answer_text(engine.start(other), text)
    # The same evidence as in a session of the text's own language ...
    assert mixed.posterior == pytest.approx(native.posterior)
    # ... and real evidence: off uniform, towards feeling bad about oneself.
    top = mixed.top_emotion
    assert mixed.posterior[top] > 1.5 * FLAT
    assert top.user_class is UserClass.VULNERABLE
    assert mixed.posterior[Emotion.OPTIMISM] < FLAT
