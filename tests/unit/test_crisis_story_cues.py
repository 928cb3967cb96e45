"""A recovery cue excuses the rules only for danger words told as past (bot/safety/crisis_screen.py
`_rules_fire_outside_the_past`), and a farewell or a plan told in the past is still read as now.

The crisis lines below were found in review after the sixth round: each has a cue that also occurs
in present speech ("at my lowest", "years sober", "ことがある", a school year), and each was
let through by the shipped screen until this check. They are not training examples."""

from __future__ import annotations

import pytest

from bot.safety.crisis_screen import full_screen

TOLD_AS_NOW = [
    "I'm at my lowest and I want to die",
    "I'm at my worst and I want to die",
    "I turned 40 today and I want to die",
    "two years sober and I want to die",
    "5 years sober and I want to die",
    "When I was 19 I was in hospital. Years later I still... at my worst I want to die.",
    "死にたいと思うことがある。今は限界。",
    "ずっと前にも死のうとしたことがある。もう決めた。今は落ち着いてる。",
    "高校の時にも死にたかった。今はもう限界。",
    "大学の課題で死にそう。死にたい",
    "Years ago I attempted. I made my plan. Now I'm calm.",
    "When I was 19 it was bad. I took all my pills. Now I feel sleepy.",
    "Years ago I was bullied and I want to die",
    # seventh round: "〜たくなった" (came to want) is a wish now, not a past tense; a
    # documentary cue excused "自殺したくなった" before it
    "ドキュメンタリー見て自殺したくなった",
    "昔の写真を見て死にたくなった",
    "去年の日記を読んで、消えたくなりました",
    # seventh round: a topic word beside a story cue is not the topic when it says of the
    # writer ("feeling", "my own", a first-person word)
    "Five years clean from self-harm, and I'm self-harming again tonight",
    # review of the seventh round: a clause the rules fire on that names a means, plan or
    # decision is read as now whatever its tense (as in a story's present sentences)
    "自殺のニュースを見て決心した",
    "Years ago I wrote a suicide note. Now I am a teacher.",
    "Years ago I studied suicide. Now I'm feeling suicidal",
]

STORIES_THAT_ARE_OVER = [
    "Two years ago I tried to kill myself. Today I'm glad I'm here.",
    "Years ago I wanted to die. Now I'm doing well and I volunteer.",
    "高校生の頃、死にたいと思っていた。今は元気です。",
    "10年前に自殺未遂をしたことがある。今は家族と幸せに暮らしています。",
    "二年前に自殺未遂をしたけど、今は生きててよかったと思ってる",
    "When I was 19, I wanted to die. Now I'm a nurse.",
]


@pytest.mark.parametrize("text", TOLD_AS_NOW)
def test_a_crisis_told_as_now_is_not_excused_by_a_cue(text: str) -> None:
    result = full_screen().screen(text)
    assert result.is_crisis, (text, result)
    assert not result.excused


@pytest.mark.parametrize("text", STORIES_THAT_ARE_OVER)
def test_a_story_told_in_the_past_is_still_excused(text: str) -> None:
    assert not full_screen().screen(text).is_crisis, text
