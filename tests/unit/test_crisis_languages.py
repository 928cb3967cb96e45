"""A crisis in a language the bot does not speak still gets a crisis answer with international
helplines (issue 10: "Ich will mich umbringen." got the English welcome)."""

from __future__ import annotations

import pytest

from bot.safety.crisis_screen import screen
from bot.safety.helplines import INTERNATIONAL, crisis_locale, helpline_text, load_helplines

UNSPOKEN_CRISES = [
    ("Ich will mich umbringen.", "de"),
    ("Ich möchte nicht mehr leben", "de"),
    ("Mein Mann schlägt mich jeden Abend", "de"),
    ("Je veux mourir", "fr"),
    ("J'ai envie de me suicider", "fr"),
    ("Quiero morirme", "es"),
    ("No quiero vivir más", "es"),
    ("Eu quero morrer", "pt"),
    ("Não quero mais viver", "pt"),
    ("Voglio morire", "it"),
    ("Non voglio più vivere", "it"),
    ("Ik wil dood", "nl"),
    ("Ik wil niet meer leven", "nl"),
    ("Я хочу умереть", "ru"),
    ("Не хочу больше жить", "ru"),
    ("我想自杀", "zh"),
    ("我不想活了", "zh"),
    ("죽고 싶어", "ko"),
    ("자살하고 싶다", "ko"),
]

UNSPOKEN_EVERYDAY = [
    "Ich bin heute sehr müde von der Arbeit",
    "Mein Hund ist krank und ich mache mir Sorgen",
    "Je suis un peu triste aujourd'hui",
    "Hoy tengo mucho trabajo",
    "Estou cansado mas bem",
    "Oggi piove e sono stanco",
    "Ik heb vandaag hard gewerkt",
    "Сегодня я очень устал",
    "我今天很累",
    "오늘 너무 피곤해",
    "이 일은 때려치우고 싶다",  # "I want to quit this job": not danger from others
]


@pytest.mark.parametrize(("text", "language"), UNSPOKEN_CRISES)
def test_a_crisis_in_an_unspoken_language_is_caught_and_read_as_such(
    text: str, language: str
) -> None:
    result = screen(text)
    assert result.is_crisis
    assert result.language == language
    assert not result.spoken
    assert "rules" in result.layers


@pytest.mark.slow
@pytest.mark.parametrize("text", UNSPOKEN_EVERYDAY)
def test_everyday_messages_in_those_languages_are_not(text: str) -> None:
    assert not screen(text).is_crisis


def test_spoken_languages_are_read_as_spoken() -> None:
    assert screen("I want to die").spoken and screen("I want to die").language == "en"
    assert screen("死にたい").spoken and screen("死にたい").language == "ja"


def test_an_unspoken_crisis_lists_the_international_helplines_whatever_the_locale() -> None:
    directory = load_helplines()
    for person_locale in ("en-GB", "ja", "de", None):
        text = helpline_text(directory, crisis_locale(person_locale, spoken=False))
        assert "findahelpline.com" in text
        assert "local emergency number" in text
        assert "116 123" not in text and "0570" not in text
    assert crisis_locale("en-GB", spoken=False) == INTERNATIONAL
    assert "116 123" in helpline_text(directory, crisis_locale("en-GB", spoken=True))
