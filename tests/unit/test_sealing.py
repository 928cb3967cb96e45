import base64
import re

import pytest

from bot.store.sealing import (
    PREFIX,
    Sealer,
    SealError,
    new_person_key,
    seal_with,
    tag_with,
    unseal_with,
)


def test_person_key_is_stable_and_secret_dependent() -> None:
    a, b = Sealer("secret-one-0123456789"), Sealer("secret-two-0123456789")
    assert a.person_key("telegram", "42") == a.person_key("telegram", "42")
    assert a.person_key("telegram", "42") != b.person_key("telegram", "42")
    assert a.person_key("telegram", "42") != a.person_key("console", "42")
    assert "42" not in a.person_key("telegram", "42")


def test_seal_round_trip_and_tamper() -> None:
    sealer = Sealer("secret-one-0123456789")
    token = sealer.seal("123456789", purpose="delivery_address.sealed_ref")
    assert "123456789" not in token
    assert sealer.unseal(token, purpose="delivery_address.sealed_ref") == "123456789"
    with pytest.raises(SealError) as info:
        Sealer("another-secret-000000").unseal(token, purpose="delivery_address.sealed_ref")
    assert "123456789" not in str(info.value)
    at = len(PREFIX) + 20  # inside the ciphertext
    flipped = token[:at] + ("A" if token[at] != "A" else "B") + token[at + 1 :]
    with pytest.raises(SealError):
        sealer.unseal(flipped, purpose="delivery_address.sealed_ref")


def test_a_sealed_value_opens_only_for_its_purpose() -> None:
    """Associated data binds a value to its table, column (and row): copied elsewhere, it
    does not open."""
    sealer = Sealer("secret-one-0123456789")
    token = sealer.seal("7", purpose="card.author_link:abc")
    with pytest.raises(SealError):
        sealer.unseal(token, purpose="card.author_link:abd")
    with pytest.raises(SealError):
        sealer.unseal(token, purpose="flag.sealed_text")


def test_sealed_values_carry_no_time_and_never_repeat() -> None:
    """Fernet tokens began with a readable timestamp; an AES-GCM seal is a random nonce and
    ciphertext: the same value sealed twice shares no prefix beyond the version, and the
    length depends on the value only."""
    sealer = Sealer("secret-one-0123456789")
    one, two = (sealer.seal("same", purpose="x") for _ in range(2))
    assert one != two and one.startswith(PREFIX) and len(one) == len(two)
    raw_one = base64.urlsafe_b64decode(one[len(PREFIX) :])
    raw_two = base64.urlsafe_b64decode(two[len(PREFIX) :])
    assert raw_one[:12] != raw_two[:12]  # random nonces, not counters or clocks
    assert len(raw_one) == 12 + len("same") + 16


def test_person_keys_seal_and_tag_apart() -> None:
    key, other = new_person_key(), new_person_key()
    token = seal_with(key, "feeling 3", purpose="checkin.sealed:1")
    assert unseal_with(key, token, purpose="checkin.sealed:1") == "feeling 3"
    with pytest.raises(SealError):
        unseal_with(other, token, purpose="checkin.sealed:1")
    assert tag_with(key, "p", "1") != tag_with(other, "p", "1")
    assert tag_with(key, "p", "1") != tag_with(key, "p", "2")
    assert re.fullmatch(r"[0-9a-f]{64}", tag_with(key, "p", "1"))


def test_wrapped_person_key_is_bound_to_its_row() -> None:
    sealer = Sealer("secret-one-0123456789")
    key = new_person_key()
    wrapped = sealer.wrap_person_key(key, 5)
    assert sealer.unwrap_person_key(wrapped, 5) == key
    with pytest.raises(SealError):
        sealer.unwrap_person_key(wrapped, 6)
