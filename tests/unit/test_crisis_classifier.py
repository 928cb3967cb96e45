"""The learned crisis layer: shipped artefact current, the issue's misses caught, layers and
fallbacks, reproducible training."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import yaml

from bot.safety.classifier import (
    DEFAULT_CLASSIFIER_PATH,
    MAX_SENTENCES,
    WINDOW,
    examples_key,
    load_crisis_classifier,
    sentences,
)
from bot.safety.crisis_screen import CrisisScreen, load_safety_policy, screen
from bot.safety.reading import plain
from bot.safety.real_texts import selection_spec
from bot.safety.training import read_examples, train

# Issue 10: each got the next quiz question.
ISSUE_MISSES = [
    "I have the pills ready, I'm going to take them all tonight.",
    "What's the point of living anymore?",
    "I don't think anyone would notice if I wasn't around at work",
    "I keep standing on the balcony thinking how easy it would be to just let go",
    "I've started giving my things away. I won't need them much longer.",
    "I have the pills ready. Honestly nobody would notice if I wasn't around anymore.",
]


def test_the_shipped_classifier_was_trained_on_the_current_examples() -> None:
    """Fails after policies/crisis_examples.yaml, the selection of real texts or their hand
    review (policies/crisis_real_texts.yaml), when the artefact learned from them, changes
    until `needtotalk train crisis-classifier` is run."""
    classifier = load_crisis_classifier()
    assert classifier is not None, f"{DEFAULT_CLASSIFIER_PATH} is missing or unreadable"
    figures = json.loads(DEFAULT_CLASSIFIER_PATH.with_suffix(".json").read_text(encoding="utf-8"))
    spec = selection_spec() if "real_texts" in figures else None
    assert classifier.key == examples_key(read_examples(), spec), (
        "bot/safety/artefacts/crisis_classifier.npz is stale: run "
        "`needtotalk train crisis-classifier`"
    )


@pytest.mark.slow
@pytest.mark.parametrize("text", ISSUE_MISSES)
def test_the_issues_misses_are_caught(text: str) -> None:
    assert screen(text).is_crisis


@pytest.mark.slow
def test_the_result_says_which_layer_caught_it() -> None:
    result = screen("What's the point of living anymore?")
    assert result.layers == ("classifier",)
    assert result.probability is not None and result.probability >= 0.5
    assert result.categories == ("classifier",)
    both = screen("I want to kill myself, I have the pills ready")
    assert both.layers == ("rules", "classifier")
    assert "suicide_explicit" in both.categories
    calm = screen("I had a nice walk with my dog this morning")
    assert not calm.is_crisis and calm.layers == ()


def test_either_layer_alone_is_enough() -> None:
    rules_only = CrisisScreen(load_safety_policy())
    assert rules_only.screen("I want to kill myself").is_crisis
    assert rules_only.screen("I want to kill myself").layers == ("rules",)
    assert rules_only.screen("What's the point of living anymore?").probability is None


def test_without_its_artefact_the_screen_keeps_screening_with_the_rules(tmp_path: Path) -> None:
    missing = load_crisis_classifier(tmp_path / "nowhere.npz")
    assert missing is None
    broken = tmp_path / "broken.npz"
    broken.write_bytes(b"not an npz")
    assert load_crisis_classifier(broken) is None
    assert CrisisScreen(load_safety_policy(), missing).screen("I want to die").is_crisis


def _tiny_examples(path: Path) -> Path:
    raw = read_examples()
    tiny = {
        label: {lang: texts[:12] for lang, texts in by_language.items()}
        for label, by_language in raw.items()
    }
    path.write_text(yaml.safe_dump(tiny, allow_unicode=True), encoding="utf-8")
    return path


@pytest.mark.slow
def test_training_is_reproducible(tmp_path: Path) -> None:
    examples = _tiny_examples(tmp_path / "examples.yaml")
    first, figures = train(examples)
    second, _ = train(examples)
    assert first.key == second.key == figures["key"]
    for language in ("en", "ja"):
        a, b = first.models[language], second.models[language]
        assert np.array_equal(a.embedding_coef, b.embedding_coef)
        assert np.array_equal(a.char_coef, b.char_coef)
        assert a.vocabulary == b.vocabulary
        assert a.sentence_offset == b.sentence_offset
        assert figures["languages"][language]["examples"] == {"crisis": 12, "not_crisis": 12}
        # The offset is one of the candidates, chosen on out-of-fold figures kept beside it.
        entry = figures["languages"][language]
        assert entry["sentence_offset"] == a.sentence_offset
        assert str(a.sentence_offset) in entry["sentence_offsets_out_of_fold"]


@pytest.mark.slow
def test_a_saved_classifier_loads_and_scores_the_same(tmp_path: Path) -> None:
    classifier = load_crisis_classifier()
    assert classifier is not None
    path = tmp_path / "copy.npz"
    classifier.save(path)
    again = load_crisis_classifier(path)
    assert again is not None and again.key == classifier.key
    for text, language in (("I want to disappear for good", "en"), ("消えてしまいたい", "ja")):
        assert again.probability(text, language) == pytest.approx(
            classifier.probability(text, language)
        )
    for language in ("en", "ja"):
        assert again.models[language].sentence_offset == pytest.approx(
            classifier.models[language].sentence_offset
        )


@pytest.mark.slow
def test_a_sentence_read_out_of_its_message_is_lowered_by_the_offset(tmp_path: Path) -> None:
    """A sentence cut from its message ("Lost my job today." without "...but I'll manage") is
    read with the model's sentence offset; an artefact from before the offset reads with 0."""
    classifier = load_crisis_classifier()
    assert classifier is not None
    parts = ["Lost my keys again today.", "I will sort it out tomorrow, no drama."]
    plain = classifier.largest(parts, "en")
    alone = classifier.largest(parts, "en", out_of_context=True)
    offset = classifier.models["en"].sentence_offset
    assert offset >= 0.0
    assert alone <= plain
    if offset > 0:
        assert alone < plain
    # An older artefact (no offset arrays) loads, with 0: sentences read as before.
    path = tmp_path / "old.npz"
    with np.load(DEFAULT_CLASSIFIER_PATH, allow_pickle=False) as data:
        arrays = {k: data[k] for k in data.files if not k.endswith("_sentence_offset")}
    np.savez_compressed(path, **arrays)  # type: ignore[arg-type]
    old = load_crisis_classifier(path)
    assert old is not None and old.models["en"].sentence_offset == 0.0
    assert old.largest(parts, "en", out_of_context=True) == pytest.approx(plain)


def test_a_long_text_costs_the_classifier_two_windows_and_a_few_sentences_at_most() -> None:
    """A 20,000-character text is read as its first and last WINDOW characters and at most
    MAX_SENTENCES sentences: its cost does not grow with the length (the rules read all of it)."""
    classifier = load_crisis_classifier()
    assert classifier is not None
    read: list[int] = []
    original = classifier._probability

    def counting(text: str, language: str, vector: object = None, offset: float = 0.0) -> float:
        read.append(len(text))
        return original(text, language, vector, offset)  # type: ignore[arg-type]

    object.__setattr__(classifier, "_probability", counting)
    long_text = "ordinary day. " * 1500 + "I want to disappear for good"
    assert classifier.probability(long_text, "en") >= 0.0
    assert read[:2] == [WINDOW, WINDOW]
    assert len(read) <= 2 + MAX_SENTENCES


def test_a_message_is_cut_into_sentences_short_ones_joined() -> None:
    text = "Long day. The bus was late again and my boss shouted. Ok. I have decided tonight."
    assert sentences(text, "en") == [
        "Long day. The bus was late again and my boss shouted.",
        "Ok. I have decided tonight.",
    ]
    assert sentences("仕事で怒られた。薬の量は決めてある。明日は雨らしい", "ja") == [
        "仕事で怒られた。",
        "薬の量は決めてある。",
        "明日は雨らしい",
    ]
    assert sentences("one sentence only", "en") == ["one sentence only"]
    # a longer text is read in at most MAX_SENTENCES runs of neighbouring sentences, and its
    # last sentence is read too (it was dropped before the review of the seventh round)
    long_text = "The day was long and slow. " * (MAX_SENTENCES * 2 + 1) + "I took all my pills."
    runs = sentences(long_text, "en")
    assert len(runs) <= MAX_SENTENCES
    assert " ".join(runs) == long_text.strip()
    assert runs[-1].endswith("I took all my pills.")
    assert len(sentences("The day was long and slow. " * MAX_SENTENCES, "en")) == MAX_SENTENCES


# A crisis sentence buried in an ordinary message (written for this test, not from any set).
BURIED = (
    "Had a busy one: took the car for its service, picked up the dry cleaning, phoned the "
    "council about the bins. I want to kill myself and I've decided it's this weekend. Then I "
    "made a lasagne and watched the quiz show with the neighbour's cat on my lap."
)


@pytest.mark.slow
def test_a_buried_crisis_sentence_is_read_alone() -> None:
    classifier = load_crisis_classifier()
    assert classifier is not None
    whole = classifier.probability(BURIED, "en", by_sentence=False)
    by_sentence = classifier.probability(BURIED, "en")
    assert by_sentence >= whole
    assert by_sentence >= load_safety_policy().classifier.threshold_for("en")
    assert screen(BURIED).is_crisis


@pytest.mark.slow
def test_a_story_told_in_sentences_is_judged_by_what_it_says_of_now() -> None:
    """The sentences without a past-time or recovery cue decide; danger words in them are never
    excused (written for this test, not from any benchmark set)."""
    over = screen("When I was 19 I tried to kill myself. Today I graduated as a nurse.")
    assert not over.is_crisis and over.excused
    now = screen("Two years ago I tried to end my life. I have the pills ready now.")
    assert now.is_crisis and not now.excused
    words_now = screen("Three years ago I was happy. I want to kill myself.")
    assert words_now.is_crisis and not words_now.excused


def test_a_classifier_only_catch_has_a_label_for_counsellors() -> None:
    rules_only = CrisisScreen(load_safety_policy())
    assert rules_only.label("classifier", "en") == "crisis language (learned screen)"
    assert rules_only.label("classifier", "ja").startswith("危機")
    assert rules_only.label("self_harm", "en") == "hurting yourself"


# Recovery stories the rules match word for word (written for this test, not from any benchmark
# set): the classifier, fairly sure they are not a crisis, excuses the rules.
RECOVERY_STORIES = [
    "Four years ago I tried to kill myself. Now I coach a kids' football team and love it.",
    "高校のころは死にたいと思っていたけど、今は毎日が楽しい",
]


@pytest.mark.slow
@pytest.mark.parametrize("text", RECOVERY_STORIES)
def test_a_recovery_story_is_excused_only_by_a_confident_classifier(text: str) -> None:
    full = screen(text)
    rules_alone = CrisisScreen(load_safety_policy()).screen(text)
    assert rules_alone.is_crisis, "the rules match these words: the excuse is what is tested"
    assert not full.is_crisis and full.excused
    assert full.probability is not None
    assert full.probability < load_safety_policy().recovery.max_probability


@pytest.mark.slow
def test_a_relapse_cue_or_a_present_crisis_is_never_excused() -> None:
    again = screen("Two years ago I tried to kill myself and I want to try again tonight.")
    assert again.is_crisis and not again.excused
    ja = screen("昔リスカしてたけど、最近またやってしまった")
    assert ja.is_crisis and not ja.excused


@pytest.mark.slow
def test_an_unsure_classifier_excuses_nothing() -> None:
    """Below `max_probability` only: with the bar at almost zero, the same stories stay crises
    (the rules' answer stands whenever the classifier is not fairly sure)."""
    policy = load_safety_policy()
    strict = policy.model_copy(
        update={"recovery": policy.recovery.model_copy(update={"max_probability": 1e-6})}
    )
    screen_ = CrisisScreen(strict, load_crisis_classifier())
    for text in RECOVERY_STORIES:
        result = screen_.screen(text)
        assert result.is_crisis and not result.excused


def test_without_the_classifier_nothing_is_excused() -> None:
    """Fail closed: the recovery excuse needs the classifier's probability."""
    rules_only = CrisisScreen(load_safety_policy())
    result = rules_only.screen(RECOVERY_STORIES[0])
    assert result.is_crisis and not result.excused


@pytest.mark.slow
def test_a_given_embedding_is_used_and_a_repeated_text_is_embedded_once() -> None:
    """Moderation hands the screen the emotion engine's embedding (one MiniLM call per card);
    a text screened twice is embedded once."""
    from bot.emotion.embeddings import embed
    from bot.safety.classifier import cached_embedding

    text = "I have the pills ready and tonight is the night"
    vector = embed([text])[0]
    full = screen(text)
    given = CrisisScreen(load_safety_policy(), load_crisis_classifier()).screen(text, vector)
    assert given.probability == pytest.approx(full.probability, abs=0.02)
    assert cached_embedding(text) is cached_embedding(text)
    # a vector far from the text's meaning changes the answer: it was really used
    calm = embed(["I had a lovely walk with my dog"])[0]
    other = CrisisScreen(load_safety_policy(), load_crisis_classifier()).screen(text, calm)
    assert other.probability is not None and full.probability is not None
    assert other.probability < full.probability


def test_a_story_that_says_what_is_now_reads_its_present_not_its_past_tense() -> None:
    """Sixth round: in a story (a recovery cue, no relapse cue) that has a sentence about now
    (a present cue), a past-tense sentence without a cue is not read as now; the sentence
    with the present cue is, even when it also holds a cue."""
    rules = CrisisScreen(load_safety_policy())
    ja = "中学でいじめられて、消えたいと思って手紙まで書いた。今は教員になって、毎日楽しい"
    assert rules._present_sentences(ja, "ja") == ["今は教員になって、毎日楽しい"]
    en = "When I was 19 I wanted to disappear. I spent a year in bed. Now I run a bakery."
    assert rules._present_sentences(en, "en") == ["Now I run a bakery."]
    # without a present cue, the fifth round's reading: every sentence without a cue
    before = "Two years ago I tried to end my life. I have the pills ready."
    assert rules._present_sentences(before, "en") == ["I have the pills ready."]


def test_a_past_tense_sentence_the_rules_fire_on_is_still_read_as_now() -> None:
    """Fail closed: "I swallowed a whole bottle of pills." is past tense and may be minutes
    old; the rules' danger words keep it among the sentences read, so its rules hit is never
    excused. A past-tense sentence that names a means (RecoveryPolicy.means) is read too."""
    rules = CrisisScreen(load_safety_policy())
    overdose = "I swallowed a whole bottle of pills."
    assert rules.rules_only(overdose).is_crisis
    text = f"When I was 19 things were bad. {overdose} Now I feel sleepy."
    assert overdose in rules._present_sentences(text, "en")
    # no rule fires on it (people on medication say it daily), but it names a means
    pills = "I took all my pills."
    assert not rules.rules_only(pills).is_crisis
    text = f"When I was 19 things were bad. {pills} Now I feel sleepy."
    assert pills in rules._present_sentences(text, "en")
    ja = "二十歳のころは大変だった。薬を全部飲んだ。今はすごく眠くなってきた"
    assert "薬を全部飲んだ。" in rules._present_sentences(ja, "ja")
    assert rules.rules_only("Now I'm cutting again, deeper.").is_crisis


@pytest.mark.parametrize(
    "text",
    [
        "Years ago I tried to end it. I took the pills an hour ago. Now I feel sleepy.",
        "When I was 15 he hurt me. He came to my room last night. Now I'm scared.",
        "昔リスカしてた。さっき切った。今は血が止まらない",
        "2年前に未遂した。昨日ロープを買った。今は落ち着いてる",
    ],
)
def test_a_recent_time_makes_no_story_that_is_over(text: str) -> None:
    """ "last night", "an hour ago", 昨日, さっき are relapse cues (sixth round): the text is
    read whole and sentence by sentence, and no rules hit in it is excused."""
    assert not CrisisScreen(load_safety_policy())._story_cue(plain(text))
