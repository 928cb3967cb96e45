"""Typed replies inside the assessment: heard, rephrased, or taken as "I don't know"; the limits
on questions; a result that names what was said and claims no duration nobody mentioned."""

from __future__ import annotations

import pytest

from bot.assessment.engine import AssessmentEngine
from bot.assessment.hearing import HARD, PLAIN, ReplyKind, choose_theme, reply_kind
from bot.assessment.loading import NoTextEvidence, load_engine
from bot.assessment.phrases import load_phrases
from bot.config import PROJECT_ROOT, Settings
from bot.domain import EMOTIONS, Emotion, EmotionReading, Language, Polarity

EN = load_phrases(PROJECT_ROOT / "prompts", "en")
JA = load_phrases(PROJECT_ROOT / "prompts", "ja")


class LeaningReader(NoTextEvidence):
    """Reads every text as pointing at one emotion (or at nothing), with a given polarity."""

    def __init__(self, emotion: Emotion | None = None, neg: float = 0.5) -> None:
        self.emotion = emotion
        self.neg = neg

    def read(self, text: str, language: Language | None = None) -> EmotionReading:
        scores = {e: (0.9 if e is self.emotion else 0.1 / 15) for e in EMOTIONS}
        if self.emotion is None:
            scores = dict.fromkeys(EMOTIONS, 1 / 16)
        return EmotionReading(scores, Polarity(1 - self.neg, self.neg), Language.EN)


def engine_with(reader: NoTextEvidence) -> AssessmentEngine:
    return load_engine(Settings(_env_file=None), evidence_reader=reader, use_llm=False)


@pytest.mark.parametrize(
    ("phrases", "text", "kind"),
    [
        (EN, "what does that even mean?", ReplyKind.CLARIFY),
        (EN, "What do you mean?", ReplyKind.CLARIFY),
        (EN, "I don’t understand the question", ReplyKind.CLARIFY),
        (EN, "??", ReplyKind.CLARIFY),
        (EN, "idk", ReplyKind.DONT_KNOW),
        (EN, "Don't know.", ReplyKind.DONT_KNOW),
        (EN, "not sure", ReplyKind.DONT_KNOW),
        (EN, "I don't know why I feel so alone", ReplyKind.ANSWER),
        (EN, "it means a lot to me", ReplyKind.ANSWER),
        (JA, "どういう意味？", ReplyKind.CLARIFY),
        (JA, "質問の意味がよくわからない", ReplyKind.CLARIFY),
        (JA, "わからない", ReplyKind.DONT_KNOW),
        (JA, "分かりません。", ReplyKind.DONT_KNOW),
        (JA, "人生の意味がわからない", ReplyKind.ANSWER),
    ],
)
def test_reply_kinds(phrases, text: str, kind: ReplyKind) -> None:  # type: ignore[no-untyped-def]
    assert reply_kind(phrases, text) is kind


@pytest.mark.parametrize(
    ("phrases", "text", "theme", "said"),
    [
        (EN, "honestly I just feel really alone. nobody texts me back…", "loneliness", True),
        (EN, "I'm not lonely, just bored", PLAIN, False),  # a negated cue names nothing
        (EN, "I'm so tired all the time", "tiredness", True),
        (EN, "I follow the news a lot", PLAIN, False),  # "low" is not in "follow"
        (JA, "最近ずっとひとりぼっちで寂しい", "loneliness", True),
        (JA, "別に寂しくない", PLAIN, False),
        (JA, "上司に腹が立って仕方ない", "anger", True),
    ],
)
def test_themes_come_from_the_persons_own_words(  # type: ignore[no-untyped-def]
    phrases, text: str, theme: str, said: bool
) -> None:
    flat = LeaningReader().read(text)
    choice = choose_theme(phrases, text, flat)
    assert (choice.theme, choice.said) == (theme, said)


def test_without_cue_words_the_theme_follows_what_the_engine_read() -> None:
    text = "everything I touch goes wrong somehow"
    assert choose_theme(EN, text, LeaningReader(Emotion.SELF_DOUBT).read(text)).theme == (
        "self_doubt"
    )
    assert choose_theme(EN, text, LeaningReader(None, neg=0.9).read(text)).theme == HARD
    assert choose_theme(EN, text, LeaningReader(None, neg=0.5).read(text)).theme == PLAIN


def test_a_typed_answer_is_acknowledged_and_a_question_about_it_is_rephrased() -> None:
    engine = engine_with(LeaningReader(Emotion.NEED_FOR_VALIDATION, neg=0.8))
    state = engine.start("en")
    first = engine.next_prompt(state)
    assert first is not None
    asked = engine.hear(state, "what does that even mean?")
    assert asked.kind is ReplyKind.CLARIFY and asked.state == state  # nothing consumed
    assert asked.prompt is not None and asked.prompt.question_id == first.question_id
    assert asked.prompt.options == first.options
    assert asked.say == f"{EN.clarify_intro} {EN.plain_questions[first.question_id]}"
    heard = engine.hear(state, "honestly I just feel really alone. nobody texts me back…")
    assert heard.kind is ReplyKind.ANSWER
    assert heard.say == EN.themes["loneliness"].ack
    assert len(heard.state.answers) == 1 and heard.state.said == ["loneliness"]


def test_dont_know_counts_and_three_of_them_end_the_assessment() -> None:
    engine = engine_with(LeaningReader())
    state = engine.start("en")
    for expected in (1, 2):
        heard = engine.hear(state, "idk")
        assert heard.kind is ReplyKind.DONT_KNOW and heard.say == EN.ack_dont_know
        state = heard.state
        assert len(state.answers) == expected and not state.finished
    state = engine.hear(state, "I don't know").state
    assert state.finished and len(state.answers) == engine.policy.overall.stop_after_dont_knows
    result = engine.result(state)
    assert result is not None and result.dominant_emotion is None  # nothing was claimed


@pytest.mark.parametrize("reply", ["ok", "hmm maybe", "sort of"])
def test_the_whole_assessment_asks_at_most_the_policys_maximum(reply: str) -> None:
    engine = engine_with(LeaningReader())
    state = engine.start("en")
    asked = 0
    while engine.next_prompt(state) is not None:
        asked += 1
        state = engine.hear(state, reply).state
        assert asked <= 20
    assert asked == len(state.answers) <= engine.policy.overall.max_questions


def test_the_result_names_loneliness_and_claims_no_duration_nobody_gave() -> None:
    engine = engine_with(LeaningReader(Emotion.NEGATIVE_SELF_TALK, neg=0.95))
    state = engine.start("en")
    state = engine.hear(state, "honestly I just feel really alone. nobody texts me back…").state
    while (prompt := engine.next_prompt(state)) is not None:
        if prompt.question_id == "long":
            state = engine.hear(state, "idk").state  # asked how long, and did not say
        else:
            state = engine.hear(state, "it's all so heavy").state
    result = engine.result(state)
    assert result is not None
    assert result.reflection.startswith(EN.themes["loneliness"].reflection)
    assert EN.reflections[Emotion.NEGATIVE_SELF_TALK] not in result.reflection
    assert not state.duration_known
    for line in (*EN.mood_lines, *EN.turning_mood_lines):
        if line:
            assert line not in result.reflection


def test_a_duration_is_spoken_of_once_the_person_gave_one() -> None:
    level = 2
    assert EN.reflection(Emotion.REGRET, level, sure=True, duration_known=True).endswith(  # type: ignore[arg-type]
        EN.mood_lines[level]
    )
    assert EN.reflection(Emotion.REGRET, level, sure=True, duration_known=False).endswith(  # type: ignore[arg-type]
        EN.mood_now_lines[level]
    )
    assert EN.says_how_long("it's been like this for months")
    assert EN.says_how_long("for 3 weeks now")
    assert not EN.says_how_long("it's heavy today")
    assert JA.says_how_long("もう3か月くらい")
    engine = engine_with(LeaningReader(Emotion.REGRET, neg=0.9))
    state = engine.hear(engine.start("en"), "I've felt like this for months").state
    assert state.duration_known
