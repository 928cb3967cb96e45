import pytest

from bot.store.sealing import Sealer, SealError


def test_person_key_is_stable_and_secret_dependent() -> None:
    a, b = Sealer("secret-one-0123456789"), Sealer("secret-two-0123456789")
    assert a.person_key("telegram", "42") == a.person_key("telegram", "42")
    assert a.person_key("telegram", "42") != b.person_key("telegram", "42")
    assert a.person_key("telegram", "42") != a.person_key("console", "42")
    assert "42" not in a.person_key("telegram", "42")


def test_seal_round_trip_and_tamper() -> None:
    sealer = Sealer("secret-one-0123456789")
    token = sealer.seal("123456789")
    assert "123456789" not in token
    assert sealer.unseal(token) == "123456789"
    with pytest.raises(SealError) as info:
        Sealer("another-secret-000000").unseal(token)
    assert "123456789" not in str(info.value)


def test_author_seal_differs_from_person_key() -> None:
    sealer = Sealer("secret-one-0123456789")
    key = sealer.person_key("telegram", "42")
    assert sealer.author_seal(key) != key
