"""policies/emotions.yaml and policies/content.yaml as validated pydantic models.

emotions.yaml says, for each of seed 1's 16 emotions (Fig. 4): a description and example phrases
in English and Japanese (their MiniLM embeddings are the emotion's prototypes), the GoEmotions
labels and ML-Ask categories that count as evidence for it (with weights), and short cue phrases
(a small hand-written lexicon). Its `combination` section holds the weights that blend them.
content.yaml holds the toxic phrase lists and the content-class thresholds (seed 1 Fig. 3).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator

from bot.domain import Emotion, UserClass
from bot.languages import ANALYSERS
from bot.policies import register_policy_schema
from bot.yaml_files import read_yaml

GOEMOTIONS_LABELS: tuple[str, ...] = tuple(
    [
        "admiration",
        "amusement",
        "anger",
        "annoyance",
        "approval",
        "caring",
        "confusion",
        "curiosity",
        "desire",
        "disappointment",
        "disapproval",
        "disgust",
        "embarrassment",
        "excitement",
        "fear",
        "gratitude",
        "grief",
        "joy",
        "love",
        "nervousness",
        "optimism",
        "pride",
        "realization",
        "relief",
        "remorse",
        "sadness",
        "surprise",
        "neutral",
    ]
)
MLASK_CATEGORIES: tuple[str, ...] = (
    "aware",
    "haji",
    "ikari",
    "iya",
    "kowa",
    "odoroki",
    "suki",
    "takaburi",
    "yasu",
    "yorokobi",
)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _analyser_keys(value: dict[str, list[str]]) -> dict[str, list[str]]:
    unknown = set(value) - set(ANALYSERS)
    if unknown:
        raise ValueError(
            f"keys {sorted(unknown)} are not analysers ({', '.join(ANALYSERS)}); phrase lists "
            "belong to the analyser that reads them (docs/languages.md)"
        )
    return value


# Phrase lists per analyser ("en", "ja": named after the language each was built for), not per
# language pack: a pack names the analyser that reads it (docs/languages.md).
PhraseLists = Annotated[dict[str, list[str]], AfterValidator(_analyser_keys)]


class EmotionEntry(_Strict):
    user_class: UserClass
    description: dict[str, str]
    examples: PhraseLists
    goemotions: dict[str, float]
    mlask: dict[str, float] = Field(default_factory=dict)
    cues: PhraseLists = Field(default_factory=dict)

    @field_validator("goemotions")
    @classmethod
    def _known_labels(cls, value: dict[str, float]) -> dict[str, float]:
        unknown = set(value) - set(GOEMOTIONS_LABELS)
        if unknown:
            raise ValueError(f"unknown GoEmotions labels: {sorted(unknown)}")
        return value

    @field_validator("mlask")
    @classmethod
    def _known_categories(cls, value: dict[str, float]) -> dict[str, float]:
        unknown = set(value) - set(MLASK_CATEGORIES)
        if unknown:
            raise ValueError(f"unknown ML-Ask categories: {sorted(unknown)}")
        return value


class LanguageWeights(_Strict):
    """How much each kind of evidence counts in one language (logit units)."""

    prototype: float
    phrase_classifier: float = 0.0  # centred log-probabilities of the phrase classifier
    phrase_lexicon: float = 0.0  # the same from its character n-gram twin
    goemotions: float
    goemotions_classes: float  # weight of combination.class_goemotions evidence
    ngrams: float  # character n-gram similarity to the language's example phrases
    mlask: float
    cues: float


class Combination(_Strict):
    prototype_temperature: float = Field(gt=0)  # cosine similarities are divided by this
    prototype_top_k: int = Field(ge=1)
    ngram_temperature: float = Field(gt=0)
    weights: dict[str, LanguageWeights]  # per analyser; every analyser has its weights
    # How strongly the text speaks about feelings scales the logits; below `floor` the
    # distribution is flat (seed 1 needs evidence, not a guess, to place a person).
    affect_floor: float = Field(ge=0, le=1)
    cue_affect: float = Field(ge=0, le=1)
    vader_affect: float = Field(ge=0)
    mlask_affect: float = Field(ge=0, le=1)
    polarity_word_affect: float = Field(ge=0, le=1)
    ngram_affect: float = Field(ge=0)  # per unit of best n-gram similarity above 0.1
    polarity_smoothing: float = Field(gt=0)
    # Seed 1's classes as a 2x2: feeling good or bad (valence) x turned towards others or towards
    # oneself (focus). Potential healing: good, others; normal: good, self; harmful: bad, others;
    # vulnerable: bad, self. These add class-wide logits: valence * class_valence for the good
    # classes (minus for the bad ones), focus * class_focus for the others-directed ones.
    class_valence: float = Field(ge=0)
    class_focus: float = Field(ge=0)
    # Added to the vulnerable emotions per distress word found (at most two count), and such a
    # word makes the text count as speaking about feelings (cue_affect).
    class_distress: float = Field(default=0.0, ge=0)
    # Class-wide evidence from the GoEmotions head: the most probable of each class' labels,
    # times the language's goemotions_classes weight, added to every emotion of that class.
    class_goemotions: dict[UserClass, list[str]]
    # GoEmotions labels that are about thinking rather than feeling (curiosity, approval, ...)
    # count this much towards the affect factor; texts shorter than affect_min_words words
    # count proportionally less (one or two words rarely say how a person feels).
    cognitive_labels: list[str]
    cognitive_affect: float = Field(ge=0, le=1)
    affect_min_words: int = Field(ge=1)


class FocusWords(_Strict):
    """Words that show whom a text is about: the writer, or other people."""

    self: PhraseLists
    others: PhraseLists


class EmotionPolicy(_Strict):
    version: int
    emotions: dict[Emotion, EmotionEntry]
    combination: Combination
    focus_words: FocusWords
    # Words of plain distress ("I feel empty", "can't sleep", つらい, 😭) that name none of the 16
    # but place a person with the vulnerable class, never the harmful one (see class_distress).
    distress_words: PhraseLists = Field(default_factory=dict)

    @model_validator(mode="after")
    def _all_sixteen(self) -> EmotionPolicy:
        missing = set(Emotion) - set(self.emotions)
        if missing:
            raise ValueError(f"emotions missing: {sorted(missing)}")
        for emotion, entry in self.emotions.items():
            if entry.user_class is not emotion.user_class:
                raise ValueError(
                    f"{emotion}: user_class {entry.user_class} but seed 1 Fig. 4 puts it in "
                    f"{emotion.user_class}"
                )
            lacking = [a for a in ANALYSERS if not entry.examples.get(a)]
            if lacking:
                raise ValueError(f"{emotion}: needs example phrases for {', '.join(lacking)}")
        missing_weights = set(ANALYSERS) - set(self.combination.weights)
        if missing_weights:
            raise ValueError(f"combination.weights lacks {sorted(missing_weights)}")
        return self


class ToxicPhrases(_Strict):
    """Phrases that attack others; matched on lower-cased text (EN on word boundaries)."""

    threats: PhraseLists
    insults: PhraseLists
    slurs: PhraseLists
    other_targets: PhraseLists  # words that show the target is someone else (you, お前, ...)
    self_targets: PhraseLists  # words that show the person speaks about themselves


class MockPraise(_Strict):
    """Praise that turns into contempt ("congrats on your recovery, shame it...", "so brave.
    Not.", "勇気あるね（棒）"): the moderation model reads the praise and calls the card good, so
    a card with a phrase of both lists is never published (restricted; it may still be kind,
    "congrats to me, I guess", and a restriction costs only reach)."""

    praise: PhraseLists
    turns: PhraseLists  # what turns praise into mockery: "not.", "/s", "i guess", "（棒）"
    # Words that hold a praise or turn phrase without being one ("or not.", さすがに "really",
    # 笑顔 "a smile"): masked before the lists are matched, so a kind card is not caught by a
    # piece of an ordinary word.
    neither: PhraseLists = Field(default_factory=dict)


class ContentThresholds(_Strict):
    toxic_harmful_share: float = Field(ge=0, le=1)
    toxic_anger_disgust: float = Field(ge=0, le=1)
    entertaining_amusement: float = Field(ge=0, le=1)
    entertaining_joy: float = Field(ge=0, le=1)
    vulnerable_negative_share: float = Field(ge=0, le=1)
    vulnerable_class_share: float = Field(ge=0, le=1)


class ContentPolicy(_Strict):
    version: int
    toxic: ToxicPhrases
    light_markers: PhraseLists  # laughter and jokes: "lol", "haha", "笑", "ｗｗ"
    thresholds: ContentThresholds
    mock_praise: MockPraise | None = None  # restricts; absent: no such check
    neutral_class: str = "inspirational"


def _read_yaml(path: Path) -> object:
    if not path.is_file():
        raise FileNotFoundError(f"policy file {path} not found")
    return read_yaml(path)


def load_emotion_policy(policies_dir: Path) -> EmotionPolicy:
    return EmotionPolicy.model_validate(_read_yaml(policies_dir / "emotions.yaml"))


def load_content_policy(policies_dir: Path) -> ContentPolicy:
    return ContentPolicy.model_validate(_read_yaml(policies_dir / "content.yaml"))


register_policy_schema("policies/emotions.yaml", EmotionPolicy, required=True)
register_policy_schema("policies/content.yaml", ContentPolicy, required=True)
