"""Properties of the scrubber over generated text (hypothesis)."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.cards.scrub import ScrubResult, find_spans, scrub
from bot.domain import AuthorNames

NAMES = AuthorNames(first_name="Mia", last_name="Will", username="sunny_sophie")

# Characters that make PII-shaped and PII-adjacent text likely, so the search spends its time
# near the patterns instead of on text no pattern can touch.
TRICKY = st.lists(
    st.sampled_from(
        [
            *"abcxyzABC019 @.-+:/_()[]＠．０９ーt名前は私田中ですと申しま。",
            "at",
            "dot",
            "com",
            "me",
            "my name is ",
            "call me ",
            "+44",
            "090",
            "www.",
            "http://",
            # addresses, sign-offs, author names and bare handles
            " Street",
            " St",
            "Apt ",
            "LS6 2AB",
            "〒",
            "丁目",
            "番地",
            "号",
            "東京都",
            "新宿区",
            "住所は",
            "より",
            "\nLove, ",
            "- ",
            "xx ",
            "Mia",
            "mia",
            "Will",
            "will",
            "_",
            "sunny_sophie",
        ]
    ),
    max_size=40,
).map("".join)

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

local_part = st.from_regex(r"[a-z][a-z0-9]{2,10}", fullmatch=True)
domain = st.from_regex(r"[a-z]{3,10}\.(com|net|org|jp|io)", fullmatch=True)
emails = st.builds(lambda u, d: f"{u}@{d}", local_part, domain)
phones = st.one_of(
    st.from_regex(r"0[789]0-[1-9]\d{3}-\d{4}", fullmatch=True),
    st.from_regex(r"\+44 20 7\d{3} \d{4}", fullmatch=True),
    st.from_regex(r"\([2-9]\d\d\) [2-9]\d\d-\d{4}", fullmatch=True),
)
filler = st.text(alphabet=st.sampled_from(list("abc xyz,!?。、は")), max_size=12)


@SETTINGS
@given(st.text(max_size=200))
def test_never_crashes_on_arbitrary_unicode(text: str) -> None:
    result = scrub(text)
    assert isinstance(result, ScrubResult)
    assert isinstance(result.text, str)


@SETTINGS
@given(st.one_of(st.text(max_size=120), TRICKY), st.sampled_from([None, "en", "ja"]))
def test_idempotent(text: str, lang: str | None) -> None:
    once = scrub(text, lang)
    twice = scrub(once.text, lang)
    assert twice.text == once.text
    assert twice.removed == ()


@SETTINGS
@given(st.one_of(st.text(max_size=120), TRICKY))
def test_never_grows_pii(text: str) -> None:
    """Nothing findable is left after scrubbing, and no finding was added by the masks."""
    from bot.cards.scrub import _normalise

    result = scrub(text)
    assert find_spans(_normalise(result.text)[0]) == []
    assert len(result.removed) <= len(text)


@SETTINGS
@given(filler, emails, filler, phones, filler)
def test_inserted_email_and_phone_are_gone(a: str, email: str, b: str, phone: str, c: str) -> None:
    text = f"{a} {email} {b} {phone} {c}"
    result = scrub(text)
    assert email not in result.text
    assert email.split("@")[1] not in result.text
    assert phone not in result.text
    assert phone[-4:] not in result.text.replace(c, "").replace(a, "").replace(b, "")


@SETTINGS
@given(st.one_of(st.text(max_size=120), TRICKY), st.sampled_from([None, "en", "ja"]))
def test_idempotent_with_author_names(text: str, lang: str | None) -> None:
    once = scrub(text, lang, author_names=NAMES)
    twice = scrub(once.text, lang, author_names=NAMES)
    assert twice.text == once.text


@SETTINGS
@given(filler, st.sampled_from(["14 Elm Street", "LS6 2AB", "〒123-4567", "2丁目8番1号"]), filler)
def test_inserted_address_is_gone(a: str, address: str, b: str) -> None:
    result = scrub(f"{a} {address} {b}")
    assert address not in result.text
    assert address[-3:] not in result.text.replace(a, "").replace(b, "")


@SETTINGS
@given(st.text(alphabet=st.sampled_from(list("abc Mia ,.!\n")), max_size=60))
def test_untouched_text_outside_masks_is_the_original(text: str) -> None:
    """Spans map back to original characters: outside the masks, the text is unchanged."""
    import re

    from bot.cards.scrub import MASKS

    result = scrub(text, "en", author_names=NAMES)
    pattern = "|".join(re.escape(m) for m in MASKS["en"].values())
    pieces = re.split(pattern, result.text)
    cursor = 0
    for piece in pieces:
        found = text.find(piece, cursor)
        assert found >= 0, (text, result.text)
        cursor = found + len(piece)
