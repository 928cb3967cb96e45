"""Sign-offs, the author's own names and usernames written without "@"."""

from __future__ import annotations

import pytest

from bot.cards.scrub import RemovalKind, scrub
from bot.domain import AuthorNames

N, H = RemovalKind.NAME, RemovalKind.HANDLE
MIA = AuthorNames(first_name="Mia", last_name="Kowalski", username="mia_k")
WILL = AuthorNames(first_name="Will", last_name="Hope", username="will_h")
HANAKO = AuthorNames(first_name="花子", last_name="山田", username=None)
YUKA = AuthorNames(first_name="ゆか")

# (text, author's names, expected output)
SIGN_OFFS: list[tuple[str, AuthorNames | None, str]] = [
    # the examples
    ("Love, Mia Kowalski", MIA, "Love, [name removed]"),
    ("Love, Mia Kowalski", None, "Love, [name removed]"),
    ("- Sophie (sunny_sophie)", None, "- [name removed] ([handle removed])"),
    ("xx Tom", None, "xx [name removed]"),
    ("Cheers, J.", None, "Cheers, [name removed]"),
    ("It got better.\nLove,\nAnna x", None, "It got better.\nLove,\n[name removed] x"),
    ("Thanks for reading. Best wishes, Sam Lee :)", None, None),
    ("Hang in there. Take care, Priya 💕", None, "Hang in there. Take care, [name removed] 💕"),
    ("hang in there\n~ Kenji", None, "hang in there\n~ [name removed]"),
    ("- Sophie (sophie92)", None, "- [name removed] ([handle removed])"),
    (
        "It gets better. - Sophie (sunny_sophie)",
        None,
        "It gets better. - [name removed] ([handle removed])",
    ),
    # Japanese
    ("つらいけど頑張る。\n山田より", None, "つらいけど頑張る。\n［名前削除］より"),
    ("ありがとう。ゆかより", None, "ありがとう。［名前削除］より"),
    ("元気でね。花子より♡", None, "元気でね。［名前削除］より♡"),
]

SIGN_OFF_LEAVE_ALONE: list[str] = [
    "Thanks everyone",
    "Love you all",
    "xx",
    "Take care of yourself.",
    "- me",
    "Cheers to that!",
    "Thank you God",
    "I finally told my boss - nothing changed",
    # found when the scrubber was run over public comment data: sentences, not signatures
    "Thanks China.",
    "That was great. Thank you, OP.",
    "This hit home for me. XD",
    "Truly a great man - Rest In Peace. Ameen.",
    "My plan: be polite. - Walk Away.",
    "My plan: be polite. - Walk Away (slowly).",
    "Thanks Activision!",
    "昨日より今日の方がいい",
    "前より元気",
    "それより",
    "みんなより",
]


@pytest.mark.parametrize(("text", "names", "expected"), SIGN_OFFS)
def test_sign_off_names_are_masked(
    text: str, names: AuthorNames | None, expected: str | None
) -> None:
    result = scrub(text, author_names=names)
    if expected is not None:
        assert result.text == expected
    for secret in ("Mia", "Kowalski", "Sophie", "sunny_sophie", "Tom", "Sam", "Lee", "山田"):
        assert secret not in result.text
    assert scrub(result.text, author_names=names).text == result.text


@pytest.mark.parametrize("text", SIGN_OFF_LEAVE_ALONE)
def test_sign_off_leave_alone(text: str) -> None:
    assert scrub(text).text == text


# The author's own names, wherever they are.
OWN_NAMES: list[tuple[str, AuthorNames, str]] = [
    ("mia here, mia_k on insta", MIA, "[name removed] here, [handle removed] on insta"),
    ("my sister calls me MIA", MIA, "my sister calls me [name removed]"),
    ("the Kowalski family dinner was awful", MIA, "the [name removed] family dinner was awful"),
    ("find me as mia_k", MIA, "find me as [handle removed]"),
    ("I told Will about it", WILL, "I told [name removed] about it"),
    ("Everyone calls me Will Hope", WILL, "Everyone calls me [name removed]"),
    ("love, will", WILL, "love, [name removed]"),
    ("my name is will", WILL, "my name is [name removed]"),
    ("花子って呼ばれてる", HANAKO, "［名前削除］って呼ばれてる"),
    ("山田家はいつも喧嘩", HANAKO, "［名前削除］家はいつも喧嘩"),
    ("ゆかは疲れた", YUKA, "［名前削除］は疲れた"),
    ("Ｍｉａ is tired", MIA, "[name removed] is tired"),
]

# Everyday words that happen to be the author's name stay when they are not used as a name.
OWN_NAMES_LEAVE_ALONE: list[tuple[str, AuthorNames]] = [
    ("I will try again tomorrow", WILL),
    ("there is hope", WILL),
    ("Will I ever feel better? Hope so.", WILL),
    ("I WILL get through this", WILL),
    ("Hope is all I have left.", WILL),
    ("the will to go on", WILL),
    ("浴衣（ゆかた）を着た", YUKA),
    ("my mia culpa moment", AuthorNames(first_name="M")),
    ("I am so tired of me", AuthorNames(first_name="tired", last_name="me")),
]


@pytest.mark.parametrize(("text", "names", "expected"), OWN_NAMES)
def test_own_names_are_masked(text: str, names: AuthorNames, expected: str) -> None:
    result = scrub(text, author_names=names)
    assert result.text == expected
    assert scrub(result.text, author_names=names).text == result.text


@pytest.mark.parametrize(("text", "names"), OWN_NAMES_LEAVE_ALONE)
def test_own_everyday_names_leave_sentences_alone(text: str, names: AuthorNames) -> None:
    assert scrub(text, author_names=names).text == text


def test_without_names_the_author_name_is_not_guessed() -> None:
    assert scrub("mia here").text == "mia here"
    assert scrub("mia here", author_names=MIA).text == "[name removed] here"


def test_names_are_not_kept_in_the_result() -> None:
    result = scrub("Love, Mia Kowalski, mia_k", author_names=MIA)
    for secret in ("Mia", "Kowalski", "mia_k"):
        assert secret not in repr(result)
    assert "Mia" not in repr(MIA)


def test_kinds_are_counted() -> None:
    result = scrub("- Sophie (sunny_sophie)")
    assert sorted(r.kind for r in result.removed) == [H, N]
    assert result.summary("en") == "removed: 1 @handle, 1 name"


BARE_HANDLES: list[tuple[str, str]] = [
    ("add me, sunny_sophie", "add me, [handle removed]"),
    ("I'm on there as ken_t_99", "I'm on there as [handle removed]"),
    ("Sophie (sophie92) here", "Sophie ([handle removed]) here"),
]
BARE_HANDLE_LEAVE_ALONE = [
    "I scored 92 (out of 100)",
    "(2019) was hard",
    "the mp3 file",
    "I had covid in 2021",
    "it's 50_50",
    "O_o sorry",
    "T_T",
]


@pytest.mark.parametrize(("text", "expected"), BARE_HANDLES)
def test_bare_handles(text: str, expected: str) -> None:
    assert scrub(text).text == expected


@pytest.mark.parametrize("text", BARE_HANDLE_LEAVE_ALONE)
def test_bare_handle_leave_alone(text: str) -> None:
    assert scrub(text).text == text
