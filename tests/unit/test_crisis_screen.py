"""The crisis screen on explicit, indirect and other-danger language, and on idioms."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from bot.safety.crisis_screen import (
    CrisisScreen,
    default_screen,
    load_safety_policy,
    normalise,
    screen,
)
from bot.safety.helplines import helpline_text, load_helplines

CRISIS = [
    ("I want to kill myself", "suicide_explicit"),
    ("i'm going to end my life tonight", "suicide_explicit"),
    ("I've been thinking about suicide a lot", "suicide_explicit"),
    ("Sometimes I wish I was dead", "suicide_explicit"),
    ("I wrote a goodbye note", "suicide_explicit"),
    ("There's no point in living anymore", "suicide_indirect"),
    ("everyone would be better off without me", "suicide_indirect"),
    ("I don't want to wake up tomorrow", "suicide_indirect"),
    ("I just want it all to end", "suicide_indirect"),
    ("I can't go on anymore", "suicide_indirect"),
    ("I'm so tired of living", "suicide_indirect"),
    ("I've been cutting myself again", "self_harm"),
    ("I started self-harming last year", "self_harm"),
    ("My boyfriend hits me when he's angry", "danger_from_others"),
    ("he threatened to kill me", "danger_from_others"),
    ("I don't feel safe at home", "danger_from_others"),
    ("I'm going to hurt him tomorrow", "harm_to_others"),
    ("もう死にたい", "suicide_explicit"),
    ("自殺を考えている", "suicide_explicit"),
    ("消えたい", "suicide_indirect"),
    ("生きていたくない", "suicide_indirect"),
    ("生きる意味がない", "suicide_indirect"),
    ("私なんていない方がいい", "suicide_indirect"),
    ("またリスカしちゃった", "self_harm"),
    ("父に毎日殴られている", "danger_from_others"),
    ("ＫＩＬＬ　ＭＹＳＥＬＦ", "suicide_explicit"),  # full width
    ("kill\u200bmyself", "suicide_explicit"),  # zero-width space
    ("I don’t want to be alive", "suicide_indirect"),  # curly apostrophe
]

NOT_CRISIS = [
    "this homework is killing me",
    "my feet are killing me",
    "I'm dead tired",
    "I'm dead lol",
    "I'm dying to see that film",
    "I nearly died laughing",
    "I could murder a pizza",
    "my phone is dead",
    "the deadline is killing me",
    "I'm not suicidal, just really sad",
    "we did a suicide prevention training at work",
    "I feel lonely and stuck",
    "I cut my hair today",
    "死ぬほど疲れた",
    "死ぬほど笑った",
    "死ぬかと思った",
    "スマホが死んだ",
    "今日は疲れた",
    "",
]


def test_an_idiom_does_not_hide_real_danger_in_the_same_message() -> None:
    assert screen("this homework is killing me and honestly I want to die").is_crisis
    assert screen("I'm not suicidal but I want to die").is_crisis


def test_threshold_comes_from_the_policy(tmp_path: Path) -> None:
    policy = load_safety_policy()
    strict = CrisisScreen(policy.model_copy(update={"threshold": 2.0}))
    assert not strict.screen("I want to kill myself").is_crisis


def test_normalise_folds_width_case_and_quotes() -> None:
    assert normalise("  ＨＥＬＬＯ\u200b  World’s ") == "hello world's"


@pytest.mark.parametrize(
    ("locale", "expected"),
    [
        ("en-GB", "116 123"),
        ("en-US", "988"),
        ("ja", "0570-783-556"),
        ("ja-JP", "0120-279-338"),
        ("en", "findahelpline"),
        ("de", "findahelpline"),
        (None, "findahelpline"),
    ],
)
def test_helplines_by_locale(locale: str | None, expected: str) -> None:
    assert expected in helpline_text(load_helplines(), locale)


# Found in review: idioms that swallowed real danger, uppercase patterns that never matched,
# and common phrasings that were missing.
FOUND_IN_REVIEW = [
    "I want to die for real",
    "I wish I were dead right now",
    "I want to be dead right now",
    "DVを受けている",
    "ODしちゃった",
    "死にたくなる",
    "死にたくて眠れない",
    "消えてしまいたい",
    "生きるのがつらい",
    "生きてる意味がない",
    "死のうかな",
    "もう死ぬしかない",
    "I'd be better off dead",
    "I want to unalive myself",
    "I'm going to end it tonight",
    "I feel like dying",
    "I should just die",
]
# Short Japanese abbreviations (OD, DV) must not match inside English words.
NOT_INSIDE_ENGLISH_WORDS = ["I'll do it today", "goodbye and good luck", "advice please"]


# Found in a second review: passive death wishes, ending it, means and plans, and goodbyes that
# the exact-form patterns missed, in English and Japanese.
REVIEW_2_MUST_CATCH = [
    # the review's own list
    "I wish I could just sleep and never wake up",
    "I just want to go to sleep and not wake up",
    "I wish I wasn't born",
    "I wish I'd never been born",
    "I want to disappear",
    "I wish I could disappear",
    "I'm thinking of ending it",
    "I can't go on like this",
    "I have pills saved up",
    "I'm going to jump",
    "私なんかいなくなればいい",
    "眠ったまま起きたくない",
    # not waking up
    "I hope I never wake up",
    "I’d rather not wake up tomorrow",  # curly apostrophe
    "I hope I don't wake up",
    "i wish i could close my eyes and never wake up",
    # not existing, never born, disappearing
    "I wish I was never born",
    "I should never have been born",
    "I regret being born",
    "I wish I didn't exist",
    "I wish I could stop existing",
    "I just wanna disappear lol",
    "I just want to vanish",
    "I want to disappear for a while",
    "Everyone would be better off if I was gone",
    "Nobody would miss me",
    # ending it, can't go on
    "I'm thinking about ending it all",
    "I've been thinking of ending it.",
    "I'm going to end it",
    "I can't keep going like this",
    "I can't go on.",
    "I can't take it anymore",
    "I'm so done with life",
    # means and plans
    "I've been stockpiling my sleeping pills",
    "I've saved up enough paracetamol",
    "I have enough pills to kill myself",
    "I took a whole bottle of pills",
    "I'm going to overdose",
    "how many pills would it take to die",
    "what's the most painless way to die",
    "I bought a rope to hang myself",
    "I tied a noose",
    "I'm going to jump off the bridge tonight",
    "I want to jump off my building",
    "I'm going to jump in front of a train",
    "I'm on the roof and I'm going to jump",
    # goodbyes
    "This is goodbye",
    "I won't be around much longer",
    "You won't have to worry about me anymore",
    "thank you for everything. goodbye.",
    "I wrote a goodbye letter to my mum",
    # Japanese
    "消えたい",
    "消えてなくなりたい",
    "最近よく消えたくなる",
    "いなくなりたい",
    "いなくなれたらいいのに",
    "私が消えればいい",
    "自分なんていない方がいい",
    "私がいなければよかった",
    "生まれてこなければよかった",
    "生まれなければよかった",
    "生まれてきてごめんなさい",
    "存在したくない",
    "目が覚めなければいい",
    "このまま目が覚めなければいいのに",
    "眠ったまま目が覚めなければいい",
    "二度と目覚めたくない",
    "永遠に眠りたい",
    "もう全部終わりにしたい",
    "人生を終わりにしたい",
    "何もかも終わらせたい",
    "この世を去りたい",
    "生きるのに疲れた",
    "死ねたらいいのに",
    "飛び降りたい",
    "屋上から飛ぼうかな",
    "首を吊ろうと思う",
    "薬をためている",
    "睡眠薬を集めてる",
    "市販薬を一箱飲んだ",
    "電車に飛び込みたい",
    "楽に死ねる方法を調べた",
    "今までありがとう、さようなら",
    "父にけられた",
]

REVIEW_2_MUST_NOT_CATCH = [
    "this traffic is killing me",
    "I could just die of embarrassment",
    "I'm dying to see it",
    "let's jump on a call",
    "I'd jump at the chance",
    "I'll jump off the call now",
    "I'm going to jump in the shower",
    "I'm ending it with my boyfriend",
    "I'm thinking of ending it with my boyfriend",
    "we're ending it there for today",
    "the show is ending it on a cliffhanger",
    "I want to disappear under my blanket lol",
    "I want to disappear to a beach for a week",
    "I hope I don't wake up late tomorrow",
    "I'd rather not wake up early on Sunday",
    "I went to bed early so I don't wake up tired",
    "I hope the baby doesn't wake up",
    "I fell asleep and didn't wake up until noon",
    "I wish I was born in the 90s",
    "I can't go on the trip this weekend",
    "I can't take it back now",
    "I need to pick up my pills from the pharmacy",
    "I take a lot of pills for my heart",
    "I want this headache to disappear",
    "I want to be gone by 5pm",
    "this is goodbye for now, see you next week",
    "I want to die my hair blue",
    "I'm done with this job",
    "もう限界",
    "もう限界、疲れた",
    "この関係を終わりにしたい",
    "今日はこれで終わりにしたい",
    "朝起きたくない",
    "この夢から目覚めたくない",
    "恥ずかしくて消えたい",
    "頭痛が消えたらいいな",
    "この痛みが消えてほしい",
    "私がいなければ会議が進まない",
    "薬局で薬を受け取った",
    "電車に乗り遅れた",
    "屋上でお弁当を食べた",
    "鳥が窓から飛んでいった",
    "今までありがとう、これからもよろしく",
    "胸がぎゅっと締めつけられた",
    "打ち明けられたけど、ただ聞いてた",
    "ミスを見つけられる気がしてる",
]


def test_an_excusing_idiom_does_not_hide_a_death_wish_after_it() -> None:
    assert screen("I want to disappear under my blanket and never wake up").is_crisis
    assert screen("恥ずかしくて消えたい、もう生まれてこなければよかった").is_crisis


# Found in a third review: Japanese danger from others lost when けられ was narrowed (and never
# caught), Japanese and English everyday sentences that fired, and the tails that excuse them.
REVIEW_3_MUST_CATCH = [
    ("誰かに後をつけられている", "danger_from_others"),
    ("あとをつけられてる気がする", "danger_from_others"),
    ("元彼につきまとわれている", "danger_from_others"),
    ("ナイフを突きつけられた", "danger_from_others"),
    ("包丁を向けられた", "danger_from_others"),
    ("包丁をこっちに向けられた", "danger_from_others"),
    ("包丁で切りつけられた", "danger_from_others"),
    ("ナイフで刺された", "danger_from_others"),
    ("首を絞めつけられた", "danger_from_others"),
    ("夫に首を絞められた", "danger_from_others"),
    ("兄に首をしめられた", "danger_from_others"),
    ("物を投げつけられた", "danger_from_others"),
    ("床に押さえつけられた", "danger_from_others"),
    ("父に叩かれた", "danger_from_others"),
    ("母に蹴られました", "danger_from_others"),
    ("父にけられた", "danger_from_others"),
    ("父に毎日殴られている", "danger_from_others"),
    # 傷つけられた counts with a body part or a weapon (see the next test for the bare word)
    ("ナイフで腕を傷つけられた", "danger_from_others"),
    ("体をタバコで傷つけられた", "danger_from_others"),
    # the narrowing of the 眠ったまま / 全部 / 薬 patterns keeps these
    ("眠ったまま目が覚めなければいい", "suicide_indirect"),
    ("眠ったまま目が覚めないでほしい", "suicide_indirect"),
    ("眠ったまま目を覚ましたくない", "suicide_indirect"),
    ("もう全部終わらせたい", "suicide_indirect"),
    ("いっそ全部終わらせたい", "suicide_indirect"),
    ("全部終わらせたい", "suicide_indirect"),
    ("つらい。全部終わらせたい", "suicide_indirect"),
    ("疲れたからもう全部終わらせたい", "suicide_indirect"),
    ("人生全部終わらせたい", "suicide_indirect"),
    ("薬をためている", "suicide_explicit"),
    ("睡眠薬を集めてる", "suicide_explicit"),
    ("薬をためて、全部飲んで死ぬ", "suicide_explicit"),
    ("死ぬために薬をためている", "suicide_explicit"),
    ("I hid my pills so I can take them all at once", "suicide_explicit"),
    ("I've been hiding my meds so no one finds them", "suicide_explicit"),
    ("I have pills saved up", "suicide_explicit"),
    ("how many pills does it take to kill myself", "suicide_explicit"),
    ("how many pills would it take to kill me", "suicide_explicit"),
    ("how many pills would it take to end it", "suicide_explicit"),
    ("how many pills would it take to die", "suicide_explicit"),
    ("I'm so done with life", "suicide_indirect"),
    ("I'm done with life in general", "suicide_indirect"),
    ("I wish I didn't wake up", "suicide_indirect"),
    ("I wish I didn't wake up this morning", "suicide_indirect"),
    ("I hope I don't wake up this time", "suicide_indirect"),
    ("I hope I don't wake up so I don't have to face tomorrow", "suicide_indirect"),
    ("You won't see me again", "suicide_indirect"),
    ("You won't see me again after tonight", "suicide_indirect"),
    ("You won't have to worry about me anymore", "suicide_indirect"),
]

REVIEW_3_MUST_NOT_CATCH = [
    # the narrowed けられ still leaves these alone
    "胸がぎゅっと締めつけられた",
    "胸が締めつけられる思いだった",
    "打ち明けられたけど、ただ聞いてた",
    "ミスを見つけられる気がしてる",
    "友達に助けられた",
    "駅で声をかけられた",
    "包丁を見つけられなかった",
    # hurt feelings, criticism and idioms are not danger to the body
    "言葉に傷つけられた",
    "彼の一言に傷つけられた",
    "暴言を投げつけられた",
    "厳しい現実を突きつけられた",
    "ネットで叩かれてつらい",
    "肩を叩かれた",
    "陰口を叩かれた",
    "気持ちを押さえつけられてきた",
    "真綿で首を絞められるような毎日",
    "蚊に刺された",
    "釘を刺された",
    "胸を刺されるような痛み",
    "不安につきまとわれている",
    # the review's Japanese false positives
    "眠ったまま目が覚めたら朝だった",
    "仕事を全部終わらせたい",
    "宿題を全部終わらせたい",
    "夏休みの宿題を全部終わらせたい",
    "宿題はもう全部終わらせたい",
    "全部終わらせたい、宿題を",
    "薬をためておいて旅行に持っていく",
    # the review's English false positives
    "I hid my medication from my little brother",
    "I have hidden the pills so the kids can't reach them",
    "I keep the pills hidden away from the kids",
    "how many pills does it take to kill a headache",
    "I'm so done with life admin",
    "done with life insurance forms",
    "I'm done with living in this city",
    "I wish I didn't wake up so early",
    "I hope I never wake up this early again",
    "You won't see me again until Monday",
    "You won't hear from me again for a week",
]


@pytest.mark.parametrize(("text", "category"), CRISIS + REVIEW_3_MUST_CATCH)
def test_crisis_language_is_caught(text: str, category: str) -> None:
    result = screen(text)
    assert result.is_crisis
    assert category in result.categories


@pytest.mark.parametrize("text", FOUND_IN_REVIEW + REVIEW_2_MUST_CATCH)
def test_phrasings_found_in_review_are_caught(text: str) -> None:
    assert screen(text).is_crisis


@pytest.mark.parametrize(
    "text",
    NOT_CRISIS + NOT_INSIDE_ENGLISH_WORDS + REVIEW_2_MUST_NOT_CATCH + REVIEW_3_MUST_NOT_CATCH,
)
def test_idioms_and_ordinary_sadness_are_not_crisis(text: str) -> None:
    assert not screen(text).is_crisis


def test_being_hurt_counts_as_danger_only_with_the_body_or_a_weapon() -> None:
    """A choice recorded in policies/safety.yaml: danger from others means the body. A bare
    傷つけられた is most often hurt feelings, so it alone is not a crisis; with a body part or a
    weapon it is, and an idiom in the same message does not hide a physical attack."""
    assert not screen("傷つけられた").is_crisis
    assert screen("顔を傷つけられた").is_crisis
    assert screen("暴言を投げつけられて、皿も投げつけられた").is_crisis
    assert screen("ネットで叩かれたし、家では父に叩かれた").is_crisis


def test_no_pattern_backtracks_badly_on_a_long_text() -> None:
    """No pattern may backtrack badly: the rules' cost grows in step with a text of repeated
    fragments (a pattern that backtracks grows with its square or worse). Measured as this
    process's CPU time against the same fragments at a quarter of the length, so a busy machine
    does not decide it; how fast the screen is lives in benchmarks/crisis.py. The classifier
    reads at most two windows of a long text, whatever its length (bot/safety/classifier.py)."""
    fragments = [
        "全部、",
        "もう",
        "薬をためて",
        "ナイフを",
        "i'm so done with ",
        "you won't see me ",
        "hid my pills ",
        ". ",
    ]
    screen = default_screen()
    for fragment in fragments:
        short = fragment * (5_000 // len(fragment))
        long = fragment * (20_000 // len(fragment))
        quarter = min(_cpu_seconds(screen, short) for _ in range(3))
        whole = min(_cpu_seconds(screen, long) for _ in range(3))
        # four times the text: about four times the work; a square would be sixteen
        assert whole < 8 * quarter + 0.02, (fragment, quarter, whole)


def _cpu_seconds(screen: CrisisScreen, text: str) -> float:
    started = time.process_time()
    screen.rules_only(text)
    return time.process_time() - started
