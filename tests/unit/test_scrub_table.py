"""The scrubber against a table of what it must remove and what it must leave alone."""

from __future__ import annotations

import pytest

from bot.cards.scrub import MASKS, RemovalKind, scrub

E, P, L, H, ID, N = (
    RemovalKind.EMAIL,
    RemovalKind.PHONE,
    RemovalKind.LINK,
    RemovalKind.HANDLE,
    RemovalKind.ID_NUMBER,
    RemovalKind.NAME,
)

# (text, kinds removed in order, secrets that must be gone from the output)
REMOVE: list[tuple[str, tuple[RemovalKind, ...], tuple[str, ...]]] = [
    # emails
    ("mail me at john.doe@example.com", (E,), ("john.doe", "example.com")),
    ("JOHN_DOE+cards@Mail.Example.co.uk please", (E,), ("JOHN_DOE", "Mail.Example")),
    ("write to ｊｏｈｎ＠ｅｘａｍｐｌｅ．ｃｏｍ", (E,), ("ｊｏｈｎ",)),
    ("john [at] gmail [dot] com", (E,), ("john", "gmail")),
    ("john (at) gmail (dot) com is me", (E,), ("john", "gmail")),
    ("john at gmail dot com", (E,), ("john", "gmail")),
    ("john [at] gmail.com", (E,), ("john", "gmail")),
    ("連絡はabc@gmail.comまで", (E,), ("abc", "gmail")),
    ("taro アットマーク example ドット jp に送って", (E,), ("taro", "example")),
    ("a@b.io,c@d.net", (E, E), ("a@", "c@")),
    # phone numbers
    ("call me at +44 20 7946 0958", (P,), ("7946", "0958")),
    ("my number is (415) 555-0123", (P,), ("555", "0123")),
    ("text 415-555-0123 tonight", (P,), ("415", "0123")),
    ("call 1-800-555-0199", (P,), ("800", "0199")),
    ("ring 555-0123", (P,), ("0123",)),
    ("tel 555.123.4567", (P,), ("4567",)),
    ("090-1234-5678に電話して", (P,), ("1234", "5678")),
    ("03-1234-5678 まで", (P,), ("1234",)),
    ("０９０－１２３４－５６７８", (P,), ("１２３４",)),
    ("090ー1234ー5678", (P,), ("1234",)),
    ("携帯は09012345678です", (P,), ("09012345678",)),
    ("+81 90 1234 5678 is mine", (P,), ("1234", "5678")),
    ("+1 415 555 0123", (P,), ("0123",)),
    ("0120-123-456 にかけた", (P,), ("0120",)),
    ("call 07700 900123", (P,), ("900123",)),
    # links
    ("see https://example.com/path?q=1.", (L,), ("example", "path")),
    ("http://foo.bar.org", (L,), ("foo",)),
    ("www.mysite.net is mine", (L,), ("mysite",)),
    ("join t.me/secretgroup now", (L,), ("secretgroup",)),
    ("telegram.me/someone", (L,), ("someone",)),
    ("my blog: example.com", (L,), ("example",)),
    ("find me on myname.co.jp/about", (L,), ("myname",)),
    ("詳しくはhttps://example.jp/aを見て", (L,), ("example",)),
    ("tg://resolve?domain=someone", (L,), ("someone",)),
    # handles
    ("follow @ken_99 on insta", (H,), ("ken_99",)),
    ("I'm @sleepy.cat there", (H,), ("sleepy",)),
    ("連絡は＠tanaka_taroへ", (H,), ("tanaka",)),
    ("LINE ID: ken1234", (H,), ("ken1234",)),
    ("LINEのIDはken1234です", (H,), ("ken1234",)),
    ("インスタ：ken.tanaka", (H,), ("ken.tanaka",)),
    ("instagram: kenny", (H,), ("kenny",)),
    ("Discord: sleepy#0420", (H,), ("sleepy",)),
    # a link wins over the address inside it; an obfuscated address over its domain
    ("https://x.com/?u=a@b.com", (L,), ("x.com", "a@b")),
    # id numbers
    ("my member id is 12345678", (ID,), ("12345678",)),
    ("card 4111 1111 1111 1111", (ID,), ("4111",)),
    ("account 1234-5678-9012", (ID,), ("9012",)),
    ("会員番号は1234567です", (ID,), ("1234567",)),
    # names
    ("my name is Bob Smith and I feel sad", (N,), ("Bob", "Smith")),
    ("hi, my name is bob.", (N,), ("bob",)),
    ("My name's Anna.", (N,), ("Anna",)),
    ("I'm called Kenji at school", (N,), ("Kenji",)),
    ("Call me Ishmael.", (N,), ("Ishmael",)),
    ("people call me José", (N,), ("José",)),
    ("名前はゆかです", (N,), ("ゆか",)),
    ("私の名前は山田花子です。", (N,), ("山田", "花子")),
    ("私は田中です", (N,), ("田中",)),
    ("僕はケンです。よろしく", (N,), ("ケン",)),
    ("佐藤と申します", (N,), ("佐藤",)),
    ("私は鈴木一郎と申します。", (N,), ("鈴木", "一郎")),
    ("ケンと呼んでください", (N,), ("ケン",)),
    ("マイクといいます", (N,), ("マイク",)),
    ("山田です。よろしくお願いします", (N,), ("山田",)),
    ("They call me Big Mike", (N,), ("Big", "Mike")),
    ("My name is Ken I am sad", (N,), ("Ken",)),
    # "I'm <Name>" (found by the end-to-end test, in a reply card)
    ("Thanks. I'm Benedikt and mornings are hard", (N,), ("Benedikt",)),
    ("hi, I am Sarah Jones.", (N,), ("Sarah", "Jones")),
    # several at once
    (
        "I'm Amy, my name is Amy Lee, mail amy@x.org or 090-1111-2222, @amylee",
        (N, N, E, P, H),
        ("Amy", "Lee", "amy@", "2222", "amylee"),
    ),
]

LEAVE_ALONE: list[str] = [
    "I'm tired of waiting",
    "I'm English, and I'm OK with that",
    "Source: I am Indian.",
    "WE WERE WINNING UNTIL I STARTED WATCHING, I AM CURSED!",
    "I am 25 and I'm not sure",
    "see you at 10:30",
    "it ended at 23:59 again",
    "the exam is on 2024-05-01",
    "5/1 was a hard day",
    "dates like 2024/05/01 and 12/25/2023",
    "it cost $5.99",
    "¥1,000 for lunch",
    "1,200円もした",
    "10000000円の借金",
    "help is there 24/7",
    "I'm 100% done",
    "only 3 people came, maybe 12",
    "I'm tired",
    "I am sad",
    "I'm so tired of everything",
    "my name is not important",
    "call me tomorrow if you can",
    "Call me crazy but I miss it",
    "私は学生です",
    "私は元気です",
    "私は疲れています",
    "私はエンジニアです",
    "名前は秘密です",
    "名前はまだない",
    "I lived in London in 2019-2020",
    "pi is 3.14159265",
    "I was at home.",
    "meet at 5.",
    "we talked for 2 hours, 15 minutes",
    "I read it on page 1234",
    "Node.js and e.g. i.e. are fine",
    "ok.so I tried",
    "朝7時に起きた",
    "2024年5月1日に会った",
    "email me? no, I won't",
    "it's 1:00-2:30 on Tuesday",
    "LINE is fun",
    "I'm called lazy by my parents",
    "they call me lazy",
    "日本人と申します",
    "これは何といいますか",
    "今日は雨です",
    "学生です。",
    "the first line: hello",
    "my id is nothing special",
    "twitter is toxic",
    "I work at Google dot com",
    "ISBN 978-4-06-293711-4",
    "IP 192.168.0.1",
    "3,000,000 yen",
]


@pytest.mark.parametrize(("text", "kinds", "secrets"), REMOVE)
def test_removes(text: str, kinds: tuple[RemovalKind, ...], secrets: tuple[str, ...]) -> None:
    result = scrub(text)
    assert sorted(r.kind for r in result.removed) == sorted(kinds), result.text
    for secret in secrets:
        assert secret not in result.text
    assert scrub(result.text).removed == ()


@pytest.mark.parametrize("text", LEAVE_ALONE)
def test_leaves_alone(text: str) -> None:
    result = scrub(text)
    assert result.text == text
    assert result.removed == ()


def test_masks_follow_language() -> None:
    assert scrub("mail a@b.com", "ja").text == "mail ［メール削除］"
    assert scrub("メールはa@b.comです", "en").text == "メールは[email removed]です"
    assert scrub("メールはa@b.comです").text == "メールは［メール削除］です"
    assert scrub("mail a@b.com").text == "mail [email removed]"


def test_name_intro_keeps_its_phrase() -> None:
    assert scrub("my name is Bob").text == "my name is [name removed]"
    assert scrub("名前はゆかです", "ja").text == "名前は［名前削除］です"


def test_summary_counts_kinds_in_english_and_japanese() -> None:
    result = scrub("a@b.com c@d.com +44 20 7946 0958 t.me/x")
    assert result.summary("en") == "removed: 2 emails, 1 phone number, 1 link"
    assert result.summary("ja") == "削除しました：メールアドレス 2件、電話番号 1件、リンク 1件"
    assert scrub("nothing here").summary("en") == ""


def test_removal_holds_no_copy_of_the_value() -> None:
    result = scrub("mail secretperson@example.com")
    assert "secretperson" not in repr(result.removed)


def test_masks_are_never_rescrubbed() -> None:
    for lang, masks in MASKS.items():
        for mask in masks.values():
            text = f"before {mask} after"
            assert scrub(text, lang).text == text
