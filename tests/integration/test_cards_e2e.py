"""Anonymous cards on Telegram, end to end (the cards issue's "done means").

Aiko shares a card holding her email, phone number and first name; Ben (class normal) reads it
with none of them, protected from forwarding; he says it helped and replies kindly; Aiko gets
both without learning anything about Ben. A vulnerable reader never receives a vulnerable card,
and a toxic card reaches nobody and is flagged. SQLite and PostgreSQL.
"""

from __future__ import annotations

from sqlmodel import Session, select

from bot.config import Settings
from bot.services import Services
from bot.store.tables import Card, Flag, Person
from tests.support.fake_bot_api import FakeBotApi, SentMessage, SimulatedPerson
from tests.support.telegram_harness import bot_running, start_and_consent

AIKO = SimulatedPerson(id=8880001, first_name="Aiko", username="aiko_sato", language_code="en")
BEN = SimulatedPerson(id=8880002, first_name="Benedikt", username="ben_w_42", language_code="en")
CARO = SimulatedPerson(id=8880003, first_name="Carolina", username="caro_v", language_code="en")
DAN = SimulatedPerson(id=8880004, first_name="Daniel", username="dan_k", language_code="en")

AIKO_CARD = (
    "My name is Aiko. After I lost my job I stayed in bed for weeks, but walking every morning "
    "slowly helped me feel like myself again. Write to me at aiko.sato@example.com or call "
    "+81 90-1234-5678."
)
VULNERABLE_CARD = (
    "I feel worthless. I keep failing at everything and I'm scared I'll never be good enough "
    "for anyone."
)
TOXIC_CARD = "You are all pathetic losers and I hate every single one of you idiots."


def set_class(services: Services, who: SimulatedPerson, user_class: str, mood: int) -> None:
    """The pre-assessment is tested on its own; here the reader's class is the premise."""
    key = services.sealer.person_key("telegram", str(who.id))
    with Session(services.engine) as session:
        person = session.exec(select(Person).where(Person.key == key)).one()
        person.user_class, person.mood_level, person.state = user_class, mood, "idle"
        session.add(person)
        session.commit()


async def share(server: FakeBotApi, who: SimulatedPerson, text: str) -> list[SentMessage]:
    server.user_sends_command(who, "/share")
    await server.wait_for_text(who.id, "Write your card")
    server.user_sends_text(who, text)
    confirm = await server.wait_for_button(who.id, "c:publish")
    server.user_presses_button(who, "c:publish", confirm)
    return await server.wait_for_reply(who.id)


async def read(server: FakeBotApi, who: SimulatedPerson) -> list[SentMessage]:
    """Only what /read delivered (not the person's own earlier messages)."""
    before = len(server.sent_messages(who.id))
    server.user_sends_command(who, "/read")
    await server.wait_for_button(who.id, "c:more")
    return server.sent_messages(who.id)[before:]


async def test_share_read_react_reply_without_revealing_anyone(
    server: FakeBotApi, settings: Settings, services: Services
) -> None:
    async with bot_running(settings, services, drain_interval=0.1):
        for who in (AIKO, BEN):
            await start_and_consent(server, who)
        set_class(services, AIKO, "vulnerable", 2)
        set_class(services, BEN, "normal", 1)

        await share(server, AIKO, AIKO_CARD)
        preview = [m.text for m in server.sent_messages(AIKO.id)]
        assert any("removed" in text for text in preview)  # she is told what was taken out

        seen = await read(server, BEN)
        cards = [m for m in seen if "walking every morning" in m.text]
        assert len(cards) == 1
        card = cards[0]
        for secret in ("aiko.sato@example.com", "90-1234-5678", "Aiko", "aiko_sato", "8880001"):
            assert secret not in card.text
        assert card.protect_content
        assert "Aiko" not in str(card.raw)

        server.user_presses_button(BEN, card.callback_data_for("helped"), card)
        thanks = (await server.wait_for_text(BEN.id, "told the author"))[-1]
        await server.wait_for_text(AIKO.id, "said it helped")

        server.user_presses_button(BEN, thanks.callback_data_for("reply"), thanks)
        await server.wait_for_text(BEN.id, "kind reply")
        server.user_sends_text(
            BEN, "Thank you for this. I'm Benedikt and mornings are hard for me too."
        )
        await server.wait_for_text(BEN.id, "on its way")
        replies = await server.wait_for_text(AIKO.id, "replied to your card")
        assert replies[-1].protect_content
        assert "mornings are hard for me too" in replies[-1].text

    for message in server.sent_messages(AIKO.id):
        blob = f"{message.text} {message.reply_markup or ''}"
        for identifier in BEN.identifiers:
            assert identifier not in blob
    for message in server.sent_messages(BEN.id):
        blob = f"{message.text} {message.reply_markup or ''}"
        for identifier in AIKO.identifiers:
            assert identifier not in blob
    with Session(services.engine) as session:
        stored = session.exec(select(Card).where(Card.reply_to_card_id == None)).one()  # noqa: E711
    assert "aiko.sato" not in stored.text and "Aiko" not in stored.text


async def test_vulnerable_cards_skip_vulnerable_readers_and_toxic_cards_reach_nobody(
    server: FakeBotApi, settings: Settings, services: Services
) -> None:
    async with bot_running(settings, services, drain_interval=0.1):
        for who in (AIKO, BEN, CARO, DAN):
            await start_and_consent(server, who)
        set_class(services, AIKO, "vulnerable", 3)
        set_class(services, BEN, "harmful", 1)
        set_class(services, CARO, "vulnerable", 2)
        set_class(services, DAN, "potential_healing", 0)

        await share(server, AIKO, VULNERABLE_CARD)
        held = await share(server, BEN, TOXIC_CARD)
        assert any("review" in m.text for m in held)

        caro_sees = " ".join(m.text for m in await read(server, CARO))
        dan_sees = " ".join(m.text for m in await read(server, DAN))
        aiko_sees = " ".join(m.text for m in await read(server, AIKO))

    assert "worthless" not in caro_sees  # vulnerable reader: never a vulnerable card
    assert "worthless" in dan_sees  # potential healing reader: may answer it kindly
    assert "worthless" not in aiko_sees  # never your own card
    for seen in (caro_sees, dan_sees, aiko_sees):
        assert "pathetic" not in seen
    with Session(services.engine) as session:
        cards = {c.text[:10]: c for c in session.exec(select(Card))}
        flags = session.exec(select(Flag)).all()
    assert cards["I feel wor"].content_class == "vulnerable"
    assert cards["You are al"].content_class == "toxic"
    assert cards["You are al"].status == "held"
    assert [f.kind for f in flags] == ["toxic_card"]
