"""The emotion engine with the real MiniLM model, the shipped head and the project's policies."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yaml

from bot.domain import EMOTIONS, Emotion, Language, UserClass
from bot.emotion.engine import EmotionEngine, get_engine
from bot.emotion.language import detect_language

pytestmark = pytest.mark.slow
DATA = yaml.safe_load(
    (Path(__file__).parents[1] / "data" / "emotion_statements.yaml").read_text("utf-8")
)
FLAT = 1.0 / len(EMOTIONS)


@pytest.fixture(scope="module")
def engine() -> EmotionEngine:
    return get_engine()


def test_reading_is_a_distribution_over_the_sixteen(engine: EmotionEngine) -> None:
    reading = engine.read("I keep thinking I should have said sorry to her.")
    assert set(reading.scores) == set(Emotion)
    assert sum(reading.scores.values()) == pytest.approx(1.0, abs=1e-5)
    assert all(0.0 <= s <= 1.0 for s in reading.scores.values())
    assert 0.0 < reading.polarity.pos < 1.0
    assert reading.polarity.pos + reading.polarity.neg == pytest.approx(1.0)


def test_held_out_statements_mostly_land_in_the_right_user_class(engine: EmotionEngine) -> None:
    """benchmarks/emotion.py reports the exact figures against the 0.85 / 0.60 targets; this
    guards against a policy or model change that breaks the engine outright."""
    statements = DATA["statements"]
    readings = engine.read_many([s["text"] for s in statements])
    classes = [
        r.user_class.value == s["user_class"] for r, s in zip(readings, statements, strict=True)
    ]
    tops = [r.top.value == s["emotion"] for r, s in zip(readings, statements, strict=True)]
    assert len(statements) >= 100
    assert np.mean(classes) >= 0.75
    assert np.mean(tops) >= 0.5
    for lang in ("en", "ja"):
        mine = [c for c, s in zip(classes, statements, strict=True) if s["lang"] == lang]
        assert np.mean(mine) >= 0.65, lang


def test_second_development_set_beats_chance_by_far(engine: EmotionEngine) -> None:
    """The fresh set was held out in session 1 and tuned near since (see its header)."""
    fresh = yaml.safe_load(
        (Path(__file__).parents[1] / "data" / "emotion_statements_fresh.yaml").read_text("utf-8")
    )["statements"]
    readings = engine.read_many([s["text"] for s in fresh])
    pairs = list(zip(readings, fresh, strict=True))
    assert np.mean([r.user_class.value == s["user_class"] for r, s in pairs]) >= 0.75
    assert np.mean([r.top.value == s["emotion"] for r, s in pairs]) >= 0.6


def test_held_out_set_meets_the_issue_targets_with_a_margin_for_noise(
    engine: EmotionEngine,
) -> None:
    """The third set, never tuned on (see its header): measured 0.854 class / 0.802 top-1.

    The guard sits a little under the issue's 0.85 so a harmless re-training does not flip it;
    the benchmark prints the exact figure against 0.85."""
    held = yaml.safe_load(
        (Path(__file__).parents[1] / "data" / "emotion_statements_holdout.yaml").read_text("utf-8")
    )["statements"]
    readings = engine.read_many([s["text"] for s in held])
    pairs = list(zip(readings, held, strict=True))
    assert len(pairs) == 192
    assert np.mean([r.user_class.value == s["user_class"] for r, s in pairs]) >= 0.82
    assert np.mean([r.top.value == s["emotion"] for r, s in pairs]) >= 0.6
    for lang in ("en", "ja"):
        mine = [r.user_class.value == s["user_class"] for r, s in pairs if s["lang"] == lang]
        assert np.mean(mine) >= 0.78, lang


@pytest.mark.parametrize("lang", ["en", "ja"])
def test_texts_without_feelings_read_flat(engine: EmotionEngine, lang: str) -> None:
    for text in DATA["neutral"][lang]:
        reading = engine.read(text)
        assert max(reading.scores.values()) < 1.6 * FLAT, text
        assert abs(reading.polarity.pos - reading.polarity.neg) < 0.25, text


def test_feelings_read_far_from_flat(engine: EmotionEngine) -> None:
    reading = engine.read("I hate myself, I'm a complete failure and I ruin everything.")
    assert reading.user_class is UserClass.VULNERABLE
    assert max(reading.scores.values()) > 3 * FLAT
    assert reading.polarity.neg > 0.7


def test_japanese_polarity_and_emotions(engine: EmotionEngine) -> None:
    happy = engine.read("今日は友達と会えて本当に嬉しかった！")
    sad = engine.read("失敗ばかりで自分が嫌になる。悲しい。")
    angry = engine.read("あいつが憎い。絶対に許さない。")
    assert happy.language is sad.language is Language.JA
    assert happy.polarity.pos > 0.6 > sad.polarity.pos
    assert happy.user_class.feels_good
    assert sad.user_class is UserClass.VULNERABLE
    assert angry.user_class is UserClass.HARMFUL


def test_read_many_matches_read_and_forced_language(engine: EmotionEngine) -> None:
    texts = ["Thank you all so much for listening.", "ありがとう、話せてよかった。"]
    batch = engine.read_many(texts)
    for text, reading in zip(texts, batch, strict=True):
        single = engine.read(text)
        assert single.top is reading.top
        assert single.scores[single.top] == pytest.approx(reading.scores[reading.top], abs=1e-4)
    assert batch[1].language is Language.JA
    assert engine.read("arigatou", Language.JA).language is Language.JA


def test_goemotions_probabilities_by_name(engine: EmotionEngine) -> None:
    probs = engine.goemotions("Thank you so much, this made my day!")
    assert len(probs) == 28 and "neutral" in probs
    assert max(probs, key=probs.__getitem__) == "gratitude"
    assert engine.goemotions("The train leaves at nine.")["neutral"] > 0.5


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("hello there", Language.EN),
        ("こんにちは", Language.JA),
        ("漢字", Language.JA),
        ("I love 寿司 so much", Language.EN),
        ("寿司が好き", Language.JA),
        ("", Language.EN),
    ],
)
def test_language_from_script(text: str, expected: Language) -> None:
    assert detect_language(text) is expected


def test_nobody_negates_for_valence() -> None:
    """VADER alone scores "nobody cares about me" as positive; the rewrite lets it negate."""
    from bot.emotion.engine import vader_negations

    assert vader_negations("Nobody cares about me, no one calls") == (
        "not anybody cares about me, not anybody calls"
    )
    reading = get_engine().read("nobody loves me", Language.EN)
    assert reading.polarity.neg > reading.polarity.pos


@pytest.mark.parametrize(
    "text",
    [
        "つらい",
        "仕事がつらいです",
        "疲れた",
        "毎日寂しい",
        "上司に怒られてばかり",  # the writer was scolded: not their hostility
        "もう何もしたくない",
        "😭😭😭",
        "I feel empty",
        "I can't sleep",
        "I don't want to do anything anymore",
        "I feel so lonely lately",
    ],
)
def test_plain_distress_reads_vulnerable_never_harmful(engine: EmotionEngine, text: str) -> None:
    """Review finding: つらい read as hatred (a person filed as harmful for saying they are
    struggling) and "I feel empty" read flat. Distress words (policies/emotions.yaml) place
    such text with the vulnerable class."""
    analysis = engine.analyse(text)
    assert analysis.affect > 0, text
    assert analysis.reading.user_class is UserClass.VULNERABLE, analysis.reading.top


def test_hostility_towards_others_still_reads_harmful(engine: EmotionEngine) -> None:
    for text in ("I hate my boss, he is a useless idiot", "あいつ本当にムカつく、許せない"):
        assert engine.read(text).user_class is UserClass.HARMFUL, text


def test_a_death_wish_is_not_read_as_positive(engine: EmotionEngine) -> None:
    """GoEmotions files "desire" as positive; the engine's valence leaves it out."""
    assert engine.read("I wish I was dead").polarity.neg > 0.5


def test_concurrent_readings_agree_with_serial_ones_and_leave_blas_as_found(
    engine: EmotionEngine,
) -> None:
    """Turns run in worker threads; the one-thread BLAS limit is process-wide and taken in turn."""
    from concurrent.futures import ThreadPoolExecutor

    from threadpoolctl import threadpool_info

    before = [i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"]
    texts = [f"{s['text']} ({i})" for i, s in enumerate(DATA["statements"][:24])]
    serial = [engine.read(t).top for t in texts]
    with ThreadPoolExecutor(max_workers=6) as pool:
        parallel = list(pool.map(lambda t: engine.read(t + " ").top, texts))
    assert parallel == serial
    assert [i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"] == before
