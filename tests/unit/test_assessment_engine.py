"""The engine on small hand-made banks, with expected values computed by hand.

Text evidence comes from a hand-made `EvidenceReader` (the port the engine is built around), so
these tests need no model.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from bot.assessment.bank import QuestionBank
from bot.assessment.engine import AssessmentEngine, StaleAnswer, UnknownAnswer
from bot.assessment.information import entropy_bits, expected_information_gain
from bot.assessment.phrases import AssessmentPhrases, load_phrases
from bot.assessment.policy import AssessmentPolicy, load_policy
from bot.assessment.state import AssessmentState
from bot.config import PROJECT_ROOT
from bot.domain import EMOTIONS, Emotion, EmotionReading, Language, MoodLevel, Polarity, UserClass

GOOD = EMOTIONS[:8]  # potential_healing + normal: the "feeling good" half


def binary_emotion_question(qid: str, a_for: dict[Emotion, float], default: float) -> dict:
    """Two options: P(a | e) from `a_for` (else `default`), P(b | e) = 1 - P(a | e)."""
    a = {e.value: a_for.get(e, default) for e in EMOTIONS}
    return {
        "id": qid,
        "kind": "emotion",
        "text": f"{qid}?",
        "options": [
            {"id": "a", "label": "a", "likelihood": a},
            {"id": "b", "label": "b", "likelihood": {k: round(1 - v, 6) for k, v in a.items()}},
        ],
    }


def mood_question(qid: str) -> dict:
    # P(option | level): a is "light", b is "heavy".
    return {
        "id": qid,
        "kind": "mood",
        "text": f"{qid}?",
        "options": [
            {"id": "a", "label": "light", "mood_likelihood": [0.8, 0.6, 0.3, 0.1]},
            {"id": "b", "label": "heavy", "mood_likelihood": [0.2, 0.4, 0.7, 0.9]},
        ],
    }


def make_bank(*questions: dict, language: str = "en") -> QuestionBank:
    return QuestionBank.model_validate({"language": language, "questions": list(questions)})


def make_policy(**emotion: float) -> AssessmentPolicy:
    base = {"stop_threshold": 0.8, "max_questions": 5, "min_questions": 0}
    return AssessmentPolicy.model_validate(
        {"emotion": {**base, **emotion}, "mood": {"min_questions": 0, "max_questions": 1}}
    )


class FixedReader:
    """Reads every text as the same scores and polarity; records what it was given."""

    def __init__(
        self, scores: dict[Emotion, float] | None = None, polarity: Polarity | None = None
    ) -> None:
        self.scores = scores or dict.fromkeys(EMOTIONS, 1.0)
        self.polarity = polarity or Polarity(0.0, 0.0)
        self.texts: list[str] = []

    def read(self, text: str, language: Language | None = None) -> EmotionReading:
        self.texts.append(text)
        return EmotionReading(dict(self.scores), self.polarity, language or Language.EN)


def h2(p: float) -> float:
    return -(p * math.log2(p) + (1 - p) * math.log2(1 - p))


HALF = binary_emotion_question("half", dict.fromkeys(GOOD, 0.9), 0.1)
WEAK = binary_emotion_question("weak", dict.fromkeys(GOOD, 0.6), 0.4)
NONE = binary_emotion_question("none", {}, 0.5)
PICK1 = binary_emotion_question("pick1", {Emotion.EMPATHY: 0.9}, 0.1)
PICK2 = binary_emotion_question("pick2", {Emotion.EMPATHY: 0.9}, 0.1)
PICK3 = binary_emotion_question("pick3", {Emotion.HATRED: 0.9}, 0.1)


def test_information_gain_matches_hand_computation() -> None:
    uniform = np.full(16, 1 / 16)
    bank = make_bank(WEAK, NONE, HALF)
    # Splitting 16 equal hypotheses in halves with a 0.9/0.1 channel: EIG = 1 - H2(0.9) bits.
    assert expected_information_gain(uniform, bank.get("half").matrix) == pytest.approx(
        1 - h2(0.9), abs=1e-9
    )
    assert expected_information_gain(uniform, bank.get("weak").matrix) == pytest.approx(
        1 - h2(0.6), abs=1e-9
    )
    assert expected_information_gain(uniform, bank.get("none").matrix) == pytest.approx(
        0, abs=1e-12
    )
    assert entropy_bits(uniform) == pytest.approx(4.0)


def test_asks_the_most_informative_question_first_whatever_the_bank_order() -> None:
    engine = AssessmentEngine(make_bank(WEAK, NONE, HALF), make_policy(), FixedReader())
    prompt = engine.next_prompt(engine.start("en"))
    assert prompt is not None
    assert prompt.question_id == "half"
    assert prompt.options == (("half.a", "a"), ("half.b", "b"))


def test_information_gain_follows_the_posterior() -> None:
    """Once the good/bad split is known, only a question separating inside the half helps."""
    engine = AssessmentEngine(make_bank(HALF, PICK3, PICK1), make_policy(), FixedReader())
    state = engine.answer_option(engine.start("en"), "half.a")  # points to the good half
    # p(good e) = (1/16 * 0.9) / 0.5 = 0.1125 each, p(bad e) = 0.0125 each.
    assert state.posterior[Emotion.EMPATHY] == pytest.approx(0.1125)
    assert state.posterior[Emotion.HATRED] == pytest.approx(0.0125)
    # pick1 singles out empathy (in the likely half), pick3 hatred (in the unlikely half).
    assert engine.next_question(state).id == "pick1"


def test_stops_when_the_top_emotion_passes_the_threshold() -> None:
    engine = AssessmentEngine(
        make_bank(PICK1, PICK2, NONE), make_policy(stop_threshold=0.8), FixedReader()
    )
    state = engine.answer_option(engine.start("en"), "pick1.a")
    # 0.9 / (0.9 + 15 * 0.1) = 0.375 < 0.8: keep asking.
    assert state.posterior[Emotion.EMPATHY] == pytest.approx(0.375)
    assert not state.finished and engine.next_prompt(state) is not None
    state = engine.answer_option(state, "pick2.a")
    # 0.81 / (0.81 + 15 * 0.01) = 0.84375 >= 0.8: decided after two questions.
    assert state.posterior[Emotion.EMPATHY] == pytest.approx(0.84375)
    assert state.decided_after == 2 and state.finished
    assert engine.next_prompt(state) is None
    result = engine.result(state)
    assert result is not None
    assert result.dominant_emotion is Emotion.EMPATHY
    assert result.user_class is UserClass.POTENTIAL_HEALING
    assert result.confidence == pytest.approx(0.84375, abs=1e-4)


def test_min_questions_holds_back_an_early_decision() -> None:
    bank = make_bank(PICK1, PICK2, NONE)
    eager = AssessmentEngine(bank, make_policy(stop_threshold=0.3), FixedReader())
    assert eager.answer_option(eager.start("en"), "pick1.a").decided_after == 1
    patient = AssessmentEngine(
        bank, make_policy(stop_threshold=0.3, min_questions=2), FixedReader()
    )
    assert patient.answer_option(patient.start("en"), "pick1.a").decided_after is None


def test_stops_at_the_question_budget_and_says_it_is_unsure() -> None:
    phrases = load_phrases(PROJECT_ROOT / "prompts", "en")
    engine = AssessmentEngine(
        make_bank(PICK1, PICK2, PICK3),
        make_policy(stop_threshold=0.99, max_questions=2),
        FixedReader(),
        phrases={Language.EN: phrases},
    )
    state = engine.answer_option(engine.start("en"), "pick1.a")
    state = engine.answer_option(state, "pick2.a")
    assert state.finished and state.decided_after == 2
    result = engine.result(state)
    assert result is not None and result.confidence < 0.99
    assert result.reflection.startswith(phrases.reflections[Emotion.EMPATHY])
    assert result.reflection.endswith(phrases.uncertain)


def test_stale_and_unknown_answers() -> None:
    engine = AssessmentEngine(make_bank(PICK1, PICK2, PICK3), make_policy(), FixedReader())
    start = engine.start("en")
    first = engine.next_question(start)
    assert first is not None and first.id == "pick1"
    # A button of a question not asked yet is not an answer to the one being asked.
    with pytest.raises(StaleAnswer):
        engine.answer_option(start, "pick3.a")
    state = engine.answer_option(start, "pick1.a")
    second = engine.next_question(state)
    assert second is not None and second.id == "pick2"
    with pytest.raises(StaleAnswer):  # the same question twice (a double tap, an old button)
        engine.answer_option(state, "pick1.b")
    for forged in ("pick1.z", "nope.a", "pick1", ""):
        with pytest.raises(UnknownAnswer):
            engine.answer_option(state, forged)
    done = engine.finish(state)
    with pytest.raises(StaleAnswer):  # nothing is being asked after the end
        engine.answer_option(done, "pick2.a")


def test_repeats_last_answer_is_a_tap_on_the_question_answered_last() -> None:
    engine = AssessmentEngine(make_bank(PICK1, PICK2, PICK3), make_policy(), FixedReader())
    start = engine.start("en")
    assert not engine.repeats_last_answer(start, "pick1.a")  # nothing answered yet
    state = engine.answer_option(start, "pick1.a")
    assert engine.repeats_last_answer(state, "pick1.a")  # the same button again
    assert engine.repeats_last_answer(state, "pick1.b")  # its neighbour, in the same tap burst
    assert not engine.repeats_last_answer(state, "pick2.a")  # the question now showing
    assert not engine.repeats_last_answer(state, "pick3.a")
    assert not engine.repeats_last_answer(state, "nonsense")
    state = engine.answer_option(state, "pick2.a")
    assert not engine.repeats_last_answer(state, "pick1.a")  # older: an old button
    # Typed over a keyboard: a tap on that keyboard afterwards is not a double tap.
    typed = engine.answer_text(start, "I keep feeling what others feel")
    assert not engine.repeats_last_answer(typed, "pick1.a")


def test_revisit_pushes_the_rejected_emotion_down_and_asks_more() -> None:
    engine = AssessmentEngine(
        make_bank(PICK1, PICK2, PICK3), make_policy(stop_threshold=0.8), FixedReader()
    )
    state = engine.answer_option(engine.start("en"), "pick1.a")
    state = engine.answer_option(state, "pick2.a")
    assert state.finished and state.top_emotion is Emotion.EMPATHY

    again = engine.revisit(state)
    # Tempered by 0.5: sqrt(0.84375) for empathy, sqrt(0.15 / 15) for each other emotion;
    # empathy then becomes min(0.15 * its value, half the best other).
    other = math.sqrt(0.01 / 0.96)
    empathy = min(0.15 * math.sqrt(0.81 / 0.96), 0.5 * other)
    total = empathy + 15 * other
    assert again.posterior[Emotion.EMPATHY] == pytest.approx(empathy / total)
    assert again.posterior[Emotion.HATRED] == pytest.approx(other / total)
    assert again.rejected == [Emotion.EMPATHY]
    assert not again.finished and again.decided_after is None
    assert again.emotion_budget == 2 + 3 and again.emotion_minimum == 3
    prompt = engine.next_prompt(again)
    assert prompt is not None and prompt.question_id in {"pick3", "half"}
    assert state.finished  # the original state is untouched


def test_revisit_with_nothing_left_to_ask_still_moves_off_the_rejected_emotion() -> None:
    engine = AssessmentEngine(
        make_bank(PICK1, PICK2), make_policy(stop_threshold=0.8), FixedReader()
    )
    state = engine.answer_option(engine.start("en"), "pick1.a")
    state = engine.revisit(engine.answer_option(state, "pick2.a"))
    assert state.finished
    result = engine.result(state)
    assert result is not None and result.dominant_emotion is not Emotion.EMPATHY


def test_mood_level_from_mood_questions_after_the_emotion() -> None:
    engine = AssessmentEngine(
        make_bank(PICK1, mood_question("long")), make_policy(stop_threshold=0.3), FixedReader()
    )
    state = engine.answer_option(engine.start("en"), "pick1.a")
    assert state.decided_after == 1 and not state.finished
    prompt = engine.next_prompt(state)
    assert prompt is not None and prompt.question_id == "long" and prompt.kind == "mood"
    state = engine.answer_option(state, "long.b")
    # Uniform prior x P(heavy | level) = [0.2, 0.4, 0.7, 0.9] / 2.2.
    assert state.mood_posterior == pytest.approx([0.2 / 2.2, 0.4 / 2.2, 0.7 / 2.2, 0.9 / 2.2])
    assert state.finished
    result = engine.result(state)
    assert result is not None and result.mood_level is MoodLevel.SEVERE
    assert "level" not in result.reflection.lower()


def test_text_polarity_is_bounded_mood_evidence() -> None:
    reader = FixedReader(polarity=Polarity(pos=0.0, neg=1.0))
    engine = AssessmentEngine(make_bank(PICK1, PICK2), make_policy(), reader)
    state = engine.answer_text(engine.start("en"), "everything is awful")
    mood = np.array(state.mood_posterior)
    shift = np.log(mood / 0.25)
    # All-negative text points at level 3, and moves it by at most text.mood_max_log_shift.
    assert int(np.argmax(mood)) == 3
    bound = engine.policy.text.mood_max_log_shift
    assert np.abs(shift - shift.mean()).max() == pytest.approx(bound)


def test_free_text_evidence_is_bounded_and_the_text_is_not_kept() -> None:
    reader = FixedReader(scores={**dict.fromkeys(EMOTIONS, 0.0), Emotion.HATRED: 1.0})
    engine = AssessmentEngine(make_bank(PICK1, PICK2, PICK3), make_policy(), reader)
    start = engine.start("en")
    state = engine.answer_text(start, "I hate my neighbour, his name is Bob Smith")
    before = np.array([start.posterior[e] for e in EMOTIONS])
    after = np.array([state.posterior[e] for e in EMOTIONS])
    shift = np.log(after / before)
    centred = shift - shift.mean()
    assert state.top_emotion is Emotion.HATRED
    assert np.abs(centred).max() == pytest.approx(engine.policy.text.max_log_shift)
    assert centred.argmax() == EMOTIONS.index(Emotion.HATRED)
    assert state.emotion_questions == 1 and state.answers[-1].source == "text"
    assert reader.texts == ["I hate my neighbour, his name is Bob Smith"]
    assert "Bob" not in state.model_dump_json()


def test_state_round_trips_through_json() -> None:
    engine = AssessmentEngine(
        make_bank(PICK1, PICK2, mood_question("long")), make_policy(), FixedReader()
    )
    state = engine.answer_option(engine.start("en"), "pick1.a")
    restored = AssessmentState.model_validate_json(state.model_dump_json())
    assert restored == state
    assert engine.next_prompt(restored) == engine.next_prompt(state)


def test_reassessment_starts_from_a_softened_previous_result() -> None:
    engine = AssessmentEngine(make_bank(PICK1, PICK2), make_policy(), FixedReader())
    state = engine.answer_option(engine.start("en"), "pick1.a")
    state = engine.answer_option(state, "pick2.a")
    previous = engine.result(state)
    assert previous is not None
    fresh = engine.start("en", previous=previous)
    weight = engine.policy.reassess.previous_weight
    expected = (1 - weight) / 16 + weight * previous.posterior[Emotion.EMPATHY]
    assert fresh.posterior[Emotion.EMPATHY] == pytest.approx(expected)
    assert not fresh.answers and not fresh.finished
    # The stored final state works as well as the result.
    assert engine.start("en", previous=state).posterior == fresh.posterior


def test_balanced_polarity_says_nothing_about_mood() -> None:
    """The emotion engine reports 0.5 / 0.5 when a text carries no polarity evidence."""
    engine = AssessmentEngine(
        make_bank(PICK1, PICK2), make_policy(), FixedReader(polarity=Polarity(0.5, 0.5))
    )
    state = engine.answer_text(engine.start("en"), "ok")
    assert state.mood_posterior == pytest.approx([0.25] * 4)
    cheerful = AssessmentEngine(
        make_bank(PICK1, PICK2), make_policy(), FixedReader(polarity=Polarity(0.8, 0.2))
    )
    assert int(np.argmax(cheerful.answer_text(cheerful.start("en"), "great").mood_posterior)) == 0


def test_finish_early_reports_what_is_known_and_says_it_is_unsure() -> None:
    phrases = load_phrases(PROJECT_ROOT / "prompts", "en")
    engine = AssessmentEngine(
        make_bank(PICK1, PICK2, mood_question("long")),
        make_policy(),
        FixedReader(),
        phrases={Language.EN: phrases},
    )
    state = engine.answer_option(engine.start("en"), "pick1.a")
    assert engine.result(state) is None
    done = engine.finish(state)
    assert done.finished and done.decided_after == 1 and engine.next_prompt(done) is None
    result = engine.result(done)
    assert result is not None and result.dominant_emotion is Emotion.EMPATHY
    assert result.confidence == pytest.approx(0.375, abs=1e-4)
    assert result.mood_level is None  # no mood evidence: no level (not the lowest one)
    assert result.reflection.endswith(phrases.uncertain)


def both_phrases() -> dict[Language, AssessmentPhrases]:
    return {lang: load_phrases(PROJECT_ROOT / "prompts", lang) for lang in Language}


def test_answers_that_say_nothing_name_no_emotion_class_or_mood() -> None:
    """Text with no emotion or polarity evidence leaves the posterior uniform: the top emotion
    would only be the first of a 16-way tie, so the result names none, and no mood level."""
    reader = FixedReader(polarity=Polarity(0.5, 0.5))  # flat scores, balanced polarity
    phrases = both_phrases()
    questions = (PICK1, PICK2, PICK3, mood_question("long"))
    engine = AssessmentEngine(
        {lang: make_bank(*questions, language=lang) for lang in Language},
        make_policy(),
        reader,
        phrases=phrases,
    )
    for language in Language:
        state = engine.start(language)
        while engine.next_prompt(state) is not None:
            state = engine.answer_text(state, "idk")
        assert state.finished
        assert state.posterior[state.top_emotion] == pytest.approx(1 / 16)
        result = engine.result(state)
        assert result is not None
        assert result.dominant_emotion is None and result.user_class is None
        assert result.mood_level is None
        assert result.confidence == pytest.approx(1 / 16, abs=1e-4)
        assert result.reflection == phrases[language].unclear
        for emotion_line in phrases[language].reflections.values():
            assert emotion_line not in result.reflection


def test_an_emotion_is_named_only_clearly_above_uniform() -> None:
    shipped = load_policy(PROJECT_ROOT / "policies")
    assert shipped.result.min_emotion_posterior == pytest.approx(2 / 16)  # twice uniform
    engine = AssessmentEngine(make_bank(WEAK, NONE), shipped, FixedReader())
    # weak.a: each feeling-good emotion 0.6 / (8 * 0.6 + 8 * 0.4) = 0.075 < 0.125.
    vague = engine.finish(engine.answer_option(engine.start("en"), "weak.a"))
    assert vague.posterior[Emotion.EMPATHY] == pytest.approx(0.075)
    result = engine.result(vague)
    assert result is not None and result.dominant_emotion is None and result.user_class is None
    # pick1.a: empathy 0.375 >= 0.125, named (with the "not sure" line, below the threshold).
    engine = AssessmentEngine(make_bank(PICK1, PICK2), shipped, FixedReader())
    clear = engine.finish(engine.answer_option(engine.start("en"), "pick1.a"))
    result = engine.result(clear)
    assert result is not None and result.dominant_emotion is Emotion.EMPATHY
    assert result.user_class is UserClass.POTENTIAL_HEALING


def test_a_flat_mood_posterior_stores_no_mood_level_and_one_answer_does() -> None:
    engine = AssessmentEngine(
        make_bank(PICK1, mood_question("long")), make_policy(stop_threshold=0.3), FixedReader()
    )
    state = engine.answer_option(engine.start("en"), "pick1.a")
    assert engine.mood_level(engine.finish(state)) is None  # uniform: no level, not "0"
    answered = engine.answer_option(state, "long.a")
    # [0.8, 0.6, 0.3, 0.1] / 1.8: level 0 at 0.44 >= 0.3, a real "light".
    assert engine.mood_level(answered) is MoodLevel.NONE
    assert engine.mood_level(engine.answer_option(state, "long.b")) is MoodLevel.SEVERE


def test_revisiting_a_result_that_named_nothing_rejects_nothing() -> None:
    engine = AssessmentEngine(
        make_bank(PICK1, PICK2, PICK3), make_policy(stop_threshold=0.8), FixedReader()
    )
    vague = engine.finish(engine.start("en"))  # ended before any answer: uniform
    assert engine.dominant_emotion(vague) is None
    again = engine.revisit(vague)
    assert again.rejected == []
    assert not again.finished and engine.next_prompt(again) is not None


def test_free_text_is_read_in_its_own_language_not_the_sessions() -> None:
    """The reader is given the language each text's characters say, so Japanese typed in an
    English session is read as Japanese and English in a Japanese session as English
    (tests/unit/test_assessment_text_language.py does it with the real emotion engine; the
    session decides only between languages one script cannot tell apart, docs/languages.md)."""

    class RecordingReader(FixedReader):
        def __init__(self) -> None:
            super().__init__()
            self.languages: list[Language | None] = []

        def read(self, text: str, language: Language | None = None) -> EmotionReading:
            self.languages.append(language)
            return super().read(text, language)

    reader = RecordingReader()
    engine = AssessmentEngine(
        {lang: make_bank(PICK1, PICK2, language=lang) for lang in Language}, make_policy(), reader
    )
    engine.answer_text(engine.start("en"), "自分が嫌いです")
    engine.answer_text(engine.start("ja"), "I hate myself")
    assert reader.languages == [Language.JA, Language.EN]


@pytest.mark.parametrize("language", list(Language))
def test_mood_lines_fit_the_reflection_they_follow(language: Language) -> None:
    """A reflection on something going well is not followed by "and it has been heavy": for
    the feeling-good classes the mood line turns ("and still, ..."), for the others it goes on."""
    phrases = both_phrases()[language]
    for emotion in EMOTIONS:
        for level in MoodLevel:
            text = phrases.reflection(emotion, level, sure=True)
            assert text.startswith(phrases.reflections[emotion])
            lines = (
                phrases.turning_mood_lines if emotion.user_class.feels_good else phrases.mood_lines
            )
            other = (
                phrases.mood_lines if emotion.user_class.feels_good else phrases.turning_mood_lines
            )
            if level is MoodLevel.NONE:
                assert text == phrases.reflections[emotion]
                continue
            assert lines[int(level)] in text
            assert other[int(level)] not in text
    # The reviewer's case: reciprocity with a heavy mood acknowledges both.
    text = phrases.reflection(Emotion.RECIPROCITY, MoodLevel.SEVERE, sure=True)
    assert text.endswith(phrases.turning_mood_lines[3])
    turn = {Language.EN: "And still", Language.JA: "それでも"}[language]
    assert turn in text
    # With nothing named, the kind "no clear picture" and a mood line fit for it.
    unclear = phrases.reflection(None, MoodLevel.MILD, sure=False)
    assert unclear.startswith(phrases.unclear)
    assert unclear.endswith(phrases.unclear_mood_lines[2])
    assert phrases.uncertain not in unclear


@pytest.mark.parametrize(
    ("language", "typed", "means"),
    [
        ("en", "that doesn't sound like me", True),
        ("en", "That doesn’t sound like me!", True),
        ("en", "  NOT ME.  ", True),
        ("en", "That's not really me", True),
        ("en", "That doesn't sound like me", True),  # the button's own words
        ("en", "I'm not sure about me", False),
        ("en", "that doesn't sound like me at all, my boss is awful", False),
        ("en", "ok", False),
        ("en", "!!!", False),
        ("ja", "違う気がする", True),
        ("ja", "「違う気がする」", True),
        ("ja", "私っぽくない。", True),
        ("ja", "ちょっと違うかも", True),
        ("ja", "ちょっと　違うかも！", True),  # full-width space and mark
        ("ja", "違うよね、上司が悪い", False),
        ("ja", "わからない", False),
    ],
)
def test_typed_not_me_phrases(language: str, typed: str, means: bool) -> None:
    assert both_phrases()[Language(language)].means_not_me(typed) is means


def test_clarity_bars_must_stay_below_the_stopping_thresholds() -> None:
    with pytest.raises(ValueError, match="min_emotion_posterior"):
        AssessmentPolicy.model_validate(
            {"emotion": {"stop_threshold": 0.2}, "result": {"min_emotion_posterior": 0.3}}
        )
    with pytest.raises(ValueError):  # at or below uniform names a tie
        AssessmentPolicy.model_validate({"result": {"min_emotion_posterior": 1 / 16}})
    with pytest.raises(ValueError):
        AssessmentPolicy.model_validate({"result": {"min_mood_posterior": 0.25}})
