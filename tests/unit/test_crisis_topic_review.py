"""Review of the seventh round: crises its topic excuse (since removed) let through, all
flagged before it, and two holes of the story reading it found (a crisis after the twelfth
sentence; a NaN probability read as "fairly sure"): bot/safety/crisis_screen.py
`_recovery_story`, `_rules_fire_outside_the_past`.

Each line below was flagged by the screen before the seventh round and not after it: the rules
fired only on a framed topic word ("suicide rates", 自殺率, 自傷やめて), the classifier read the
line at 0.008-0.30, and the writer, a means or a farewell was in a clause or sentence the rules
did not fire on. The lines are written for this test (none is from a development or held-out
set) and are not training examples."""

from __future__ import annotations

import math

import pytest

from bot.safety.crisis_screen import CrisisScreen, full_screen

MISSED_IN_REVIEW = [
    # the writer in another sentence or clause, with or without a first-person word
    "Read the news on suicide rates. Soon to be one of them.",
    "thinking of becoming one of the suicide statistics",
    "Thinking of joining the suicide statistics",
    "teen suicide is in the news and I'm a teen who wants out",
    "The news about teen suicide. Same here honestly.",
    "Writing my thesis on suicide, which is ironic since ill be dead before I finish",
    "Durkheim's theory of suicide. Becoming a data point myself.",
    "Durkheim's theory of suicide, soon a data point",
    "a course on suicide, final project: my own",
    "suicide statistics in the news, I'll add one more",
    "Novel about suicide. Same ending for this guy.",
    "News about teen suicide. Ditto.",
    "Celebrity suicide on the news. Envious.",
    "The documentary on suicide rates. Not long now.",
    "Essay on the theory of suicide due, whatever, wont be around",
    # a framing phrase that is itself the writer's state
    "After that film, the idea of suicide is comforting",
    "Lots of suicidal thoughts after that film",
    "Constant stream of suicidal thoughts since the documentary",
    "Full of suicidal thoughts since the documentary",
    "Broke my 2 years clean from self-harm after watching that film",
    "Seven years clean from self-harm, that ends today.",
    "Seven years clean from self-harm. Not any more.",
    "Seven years clean from self-harm. Was.",
    # a means, a plan or a farewell beside the topic word
    "Documentary on suicide rates, said goodbye to everyone",
    "Movie about suicide. 40 pills counted out.",
    "suicide among farmers is common. farm's gone, rope in the barn",
    "the character's suicide in the film, same plan here",
    "Six years clean from self-harm, blade in hand",
    "Documentary on suicide: the bridge scene. Walking there now.",
    "自殺率の記事読んだ。仲間入りしようかな",
    "自殺の統計を見た。一人増えるよ",
    "自殺率のニュース。もう限界",
    "自殺率のニュース、もう限界",
    "映画の自殺のシーンと同じやり方でやる",
    "映画みたいに、自殺の決行日は金曜",
    "映画の影響で自殺の練習をした",
    "ドラマの自殺の場面、真似する",
    "自殺のニュースを見て、ロープを買った",
    "自殺報道を見て、明日決行",
    "自傷やめてたけどカッター握ってる",
    "自傷やめて一年、刃物出した",
    "自傷やめて三年、もう無理",
    "自殺で亡くした友達のところに行く",
    "自殺率の記事。屋上なう",
    "自殺の報道見た。羨ましい",
    "自傷やめて二年だったのに",
    "自傷やめて二年、今日で終わり",
    "自殺について授業、明日の授業には出ない",
    # one statement, the writer named without "I" (a word list: `self_reference`)
    "Celebrity suicide in the news is enviable",
    "suicide rates among students are about to go up by one",
    "the suicide rates article convinced this person",
    "suicide statistics will have one more name on friday",
    "the theory of suicide finally applies to this one",
    "自殺についての映画を見てふんぎりがついた",
    "自殺についての論文を遺す",
    "自傷やめて二年目で再開",
]

FILLER = " ".join(f"The weather on day {i} was fine." for i in range(14))


@pytest.mark.parametrize("text", MISSED_IN_REVIEW)
def test_a_crisis_beside_a_framed_topic_word_is_a_crisis(text: str) -> None:
    result = full_screen().screen(text)
    assert result.is_crisis, (text, result)


@pytest.mark.parametrize(
    "tail", ["I'm going to kill myself.", "Took all my pills.", "I have the rope ready."]
)
def test_a_crisis_after_the_twelfth_sentence_is_read(tail: str) -> None:
    """sentences() kept only the first MAX_SENTENCES, so a crisis after them was read only in
    the whole text's embedding (0.02), and a story cue or the topic excuse let it go."""
    for opening in ("The news on suicide rates was grim.", "Years ago it was bad."):
        text = f"{opening} {FILLER} {tail}"
        assert full_screen().screen(text).is_crisis, text


class _NanClassifier:
    """A classifier whose reading is NaN (a broken artefact): no reading at all."""

    def probability(self, *args: object, **kwargs: object) -> float:
        return math.nan

    def largest(self, *args: object, **kwargs: object) -> float:
        return math.nan


def test_a_nan_probability_excuses_nothing() -> None:
    """`probability >= 0.3` is False for NaN: the excuse read NaN as "fairly sure"."""
    screen = CrisisScreen(full_screen().policy, _NanClassifier())  # type: ignore[arg-type]
    for text in (
        "The article about suicide rates among nurses was sobering.",
        "自傷やめて今日で二年。",
        "Six years clean from self-harm today.",
    ):
        assert screen.screen(text).is_crisis, text
