"""The assessment's serialisable values and the two ports it is built around.

`AssessmentState` is everything the engine needs between two messages, as a pydantic model the
conversation service can store as JSON. It holds probabilities and ids only: never the person's
words (free text is read, turned into evidence, and dropped).

`EvidenceReader` is where text evidence comes from (the emotion engine, `bot.emotion.engine`),
`Refiner` is the optional LLM; both are injected so the engine runs, and is tested, without
either a model or a network.
"""

from __future__ import annotations

from typing import Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field

from bot.domain import Emotion, EmotionReading, Language, MoodLevel, UserClass

FOLLOW_UP_ID = "fu"  # the question id of an LLM-proposed follow-up (free text only)


class Answer(BaseModel):
    """One answer, as ids: which question, which option (None for free text)."""

    model_config = ConfigDict(frozen=True)

    question_id: str
    option_id: str | None = None
    source: Literal["option", "text", "dont_know"] = "option"


class AssessmentState(BaseModel):
    """Where one person's assessment stands; JSON in, JSON out (`model_dump_json`)."""

    version: Literal[1] = 1
    language: Language
    posterior: dict[Emotion, float]
    mood_posterior: list[float] = Field(min_length=4, max_length=4)
    asked: list[str] = Field(default_factory=list)
    answers: list[Answer] = Field(default_factory=list)
    emotion_questions: int = 0
    mood_questions: int = 0
    # Emotion questions allowed / required before deciding; a revisit raises both.
    emotion_budget: int
    emotion_minimum: int
    # How many emotion answers it took to decide (None while undecided); what `eval` reports.
    decided_after: int | None = None
    mood_done: bool = False
    follow_up: str | None = None  # an LLM follow-up waiting for a free-text answer
    follow_ups_used: int = 0
    rejected: list[Emotion] = Field(default_factory=list)
    finished: bool = False
    # len(answers) when this round began (a revisit starts a new one): `overall` limits count
    # from here.
    round_start: int = 0
    dont_knows: int = 0  # "I don't know" answers in this round
    # Theme ids (bot.assessment.hearing) the person named in their own words, in order; the
    # result names what they said. Ids only, never their words.
    said: list[str] = Field(default_factory=list)
    heard: str | None = None  # the last free-text reply's theme id, for the acknowledgement
    duration_known: bool = False  # asked how long (and answered), or said so

    @property
    def asked_this_round(self) -> int:
        return len(self.answers) - self.round_start

    @property
    def emotion_decided(self) -> bool:
        return self.decided_after is not None

    @property
    def top_emotion(self) -> Emotion:
        return max(self.posterior, key=lambda e: self.posterior[e])


class QuestionPrompt(BaseModel):
    """What to show: the text, and quick replies as (option id, label).

    Option ids are `"<question>.<option>"` (short; they fit Telegram callback_data). Free text is
    always accepted too; a follow-up (`question_id == "fu"`) has no options at all.
    """

    model_config = ConfigDict(frozen=True)

    question_id: str
    text: str
    options: tuple[tuple[str, str], ...] = ()
    kind: Literal["emotion", "mood", "follow_up"] = "emotion"


class AssessmentResult(BaseModel):
    """The outcome the conversation stores: dominant emotion -> user class (seed 1 Fig. 2, 4),
    mood level 0-3 (seed 2), and a kind reflection in the person's language. Never a diagnosis.

    When the answers said too little (`policies/assessment.yaml` `result`), the emotion and class
    are None rather than the first of a tie, and likewise the mood level for a flat mood
    posterior: nothing is claimed that was not read."""

    model_config = ConfigDict(frozen=True)

    language: Language
    dominant_emotion: Emotion | None
    user_class: UserClass | None
    mood_level: MoodLevel | None
    confidence: float  # the top emotion's posterior, named or not
    reflection: str
    posterior: dict[Emotion, float]
    questions_asked: int


class EvidenceReader(Protocol):
    """Text -> emotion evidence; `bot.emotion.engine.get_engine()` satisfies it."""

    def read(self, text: str, language: Language | None = None) -> EmotionReading: ...


class RewriteRequest(BaseModel):
    """What the LLM may know when rewording a bank question: the bank's own words only."""

    model_config = ConfigDict(frozen=True)

    language: Language
    question_text: str
    option_labels: tuple[str, ...]
    context: tuple[tuple[str, str], ...] = ()  # earlier (question, answer label) pairs


class ReadRequest(BaseModel):
    model_config = ConfigDict(frozen=True)

    language: Language
    text: str
    question_text: str | None = None
    options: tuple[tuple[str, str], ...] = ()  # the current question's (short option id, label)
    may_follow_up: bool = False
    # The acknowledgement chosen offline (prompts/<lang>/assessment.yaml), for the LLM to reword
    # so it reflects what was said; None: nothing to reword.
    acknowledgement: str | None = None


class LlmReading(BaseModel):
    """The LLM's reading of free text, already validated against its schema."""

    model_config = ConfigDict(frozen=True)

    emotions: dict[Emotion, float] = Field(default_factory=dict)  # strengths in [0, 1]
    option_id: str | None = None
    mood_level: MoodLevel | None = None
    follow_up: str | None = None
    acknowledgement: str | None = None  # the offline acknowledgement reworded, already checked


class Refiner(Protocol):
    """The optional LLM. Returns None on any failure; the engine then carries on offline."""

    def rewrite(self, request: RewriteRequest) -> str | None: ...

    def read(self, request: ReadRequest) -> LlmReading | None: ...
