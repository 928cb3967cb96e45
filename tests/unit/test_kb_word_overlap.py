"""Content words and overlap used to re-rank knowledge-base results."""

from __future__ import annotations

from bot.knowledge.word_overlap import content_words, overlap


def test_japanese_content_words_are_base_forms_of_content_tokens() -> None:
    assert content_words("夜眠れない", "ja") == {"夜", "眠れる"}
    assert content_words("誰かに話を聞いてほしい", "ja") == {"話", "聞く"}
    assert content_words("眠れなかった日の翌朝", "ja") >= {"眠れる", "日", "翌朝"}


def test_english_content_words_drop_function_words_and_stem() -> None:
    assert content_words("I can't stop breathing so fast", "en") == {
        "can't",
        "stop",
        "breath",
        "fast",
    }
    assert content_words("The sleeping cats", "en") == {"sleep", "cat"}


def test_overlap_is_the_share_of_query_words_found() -> None:
    query = content_words("夜眠れない", "ja")
    assert overlap(query, content_words("眠れない時は紙に書き出して", "ja")) == 0.5
    assert overlap(query, content_words("夜、眠れない", "ja")) == 1.0
    assert overlap(query, content_words("ラッコは手をつなぐ", "ja")) == 0.0
    assert overlap(frozenset(), frozenset({"x"})) == 0.0
