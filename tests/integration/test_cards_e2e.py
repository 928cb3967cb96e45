"""Anonymous cards on Telegram, end to end (the cards and safe-relay issues' "done means").

Aiko shares a card holding her email, phone number and first name; Ben (class normal) reads it
with none of them, protected from forwarding; he says it helped (twice: Aiko hears it once) and
replies kindly after a preview; Aiko gets both without learning anything about Ben. A suicidal
card is held and its author gets helplines; a hateful card reaches nobody; a sad card never
reaches a vulnerable reader; a cruel reply is held; forged buttons are refused exactly like a
missing card; withdrawing deletes a delivered copy with deleteMessage. SQLite and PostgreSQL,
through the real python-telegram-bot Application and the local Bot API server.
"""

from __future__ import annotations

import asyncio

from sqlmodel import Session, select

from bot.config import Settings
from bot.services import Services
from bot.store.tables import Card, CardDelivery, Flag, Person
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
KIND_CARD = "Walking every morning slowly helped me feel like myself again after a hard winter."
# The safe-relay issue's own sentences, word for word (the sad card's opening is ours: the issue
# quotes only its end).
SAD_CARD = "I try so hard to fit in, but I'm just not the kind of person people want around."
SUICIDAL_CARD = "I have the pills ready. Honestly nobody would notice if I wasn't around anymore."
HATEFUL_CARDS = (
    "If you're reading this and you're depressed, just do everyone a favour and disappear.",
    "Gay people are an abomination and should be ashamed of themselves.",
)
CRUEL_REPLY = "Go ahead then, nobody will miss you."
UNAVAILABLE = "isn't available"


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


async def press(server: FakeBotApi, who: SimulatedPerson, data: str) -> str:
    """Press a button with `data` (forged or real) and return the bot's answer."""
    server.user_presses_button(who, data, server.sent_messages(who.id)[-1])
    return " ".join(m.text for m in await server.wait_for_reply(who.id))


async def recorded(services: Services, kinds: set[str], timeout: float = 20.0) -> None:  # noqa: ASYNC109
    """Until deliveries of these kinds have a recorded copy (the channel reports it just after
    Telegram accepted the message)."""
    for _ in range(int(timeout / 0.1)):
        with Session(services.engine) as session:
            done = {d.kind for d in session.exec(select(CardDelivery)) if d.sealed_copy}
        if kinds <= done:
            return
        await asyncio.sleep(0.1)
    raise TimeoutError(f"copies recorded only for {done}")


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

        helped = card.callback_data_for("helped")
        server.user_presses_button(BEN, helped, card)
        thanks = (await server.wait_for_text(BEN.id, "told the author"))[-1]
        await server.wait_for_text(AIKO.id, "said it helped")
        server.user_presses_button(BEN, helped, card)  # a second press on the same card
        await server.wait_for_text(BEN.id, "told the author")

        server.user_presses_button(BEN, thanks.callback_data_for("reply"), thanks)
        await server.wait_for_text(BEN.id, "kind reply")
        # A reply moderation publishes: Aiko feels bad, and a reply read as good with less
        # confidence than publish_confidence, or one the crisis classifier is not fairly sure
        # is no crisis (crisis_publish_below: "Thanks! I'm [name removed] and I love morning
        # walks too." reads 0.33), waits for a counsellor (policies/moderation.yaml).
        server.user_sends_text(BEN, "Thanks! I'm Benedikt, and morning walks are my favourite too.")
        send = await server.wait_for_button(BEN.id, "c:publish")
        assert "Send it" in [label for label, _ in send.buttons]
        server.user_presses_button(BEN, "c:publish", send)
        await server.wait_for_text(BEN.id, "on its way")
        replies = await server.wait_for_text(AIKO.id, "replied to your card")
        assert replies[-1].protect_content
        assert "morning walks are my favourite too" in replies[-1].text
        # Both copies (the card in /read, the reply through the outbox) are recorded, sealed.
        await recorded(services, {"card", "reply"})

    notices = [m for m in server.sent_messages(AIKO.id) if "said it helped" in m.text]
    assert len(notices) == 1  # "helped" notifies once
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
        deliveries = session.exec(select(CardDelivery)).all()
    assert "aiko.sato" not in stored.text and "Aiko" not in stored.text
    assert all(str(BEN.id) not in (d.sealed_copy or "") for d in deliveries)


async def test_held_cards_reach_nobody_and_sad_cards_skip_vulnerable_readers(
    server: FakeBotApi, settings: Settings, services: Services
) -> None:
    async with bot_running(settings, services, drain_interval=0.1):
        for who in (AIKO, BEN, CARO, DAN):
            await start_and_consent(server, who)
        set_class(services, AIKO, "vulnerable", 3)
        set_class(services, BEN, "harmful", 1)
        set_class(services, CARO, "vulnerable", 2)
        set_class(services, DAN, "potential_healing", 0)

        server.user_sends_command(AIKO, "/share")
        await server.wait_for_text(AIKO.id, "Write your card")
        server.user_sends_text(AIKO, SUICIDAL_CARD)
        crisis = " ".join(m.text for m in await server.wait_for_reply(AIKO.id))
        assert "support from a real person" in crisis  # the crisis answer, at once
        assert "findahelpline.com" in crisis  # with helplines
        assert "c:publish" not in str([m.reply_markup for m in server.sent_messages(AIKO.id)])

        await share(server, AIKO, SAD_CARD)
        for hateful in HATEFUL_CARDS:
            held = await share(server, BEN, hateful)
            assert any("review" in m.text for m in held)

        caro_sees = " ".join(m.text for m in await read(server, CARO))
        dan_sees = " ".join(m.text for m in await read(server, DAN))
        aiko_sees = " ".join(m.text for m in await read(server, AIKO))
        ben_sees = " ".join(m.text for m in await read(server, BEN))

    assert "want around" not in caro_sees  # vulnerable reader: never a sad card
    assert "want around" not in ben_sees  # nor a harmful one
    assert "want around" in dan_sees  # potential healing reader: may answer it kindly
    assert "want around" not in aiko_sees  # never your own card
    for seen in (caro_sees, dan_sees, aiko_sees, ben_sees):  # the hateful ones reach nobody
        assert "disappear" not in seen and "abomination" not in seen and "pills" not in seen
    with Session(services.engine) as session:
        cards = {c.text[:10]: c for c in session.exec(select(Card))}
        flags = session.exec(select(Flag)).all()
    assert cards["I try so h"].restricted
    assert cards["If you're "].status == "held" and cards["Gay people"].status == "held"
    assert all(c.status == "held" for c in cards.values() if "pills" in c.text)
    assert sorted((f.kind, f.severity) for f in flags) == [
        ("crisis", "high"),
        ("toxic_card", "medium"),
        ("toxic_card", "medium"),
    ]


async def test_a_cruel_reply_is_held_and_forged_buttons_reveal_nothing(
    server: FakeBotApi, settings: Settings, services: Services
) -> None:
    async with bot_running(settings, services, drain_interval=0.1):
        for who in (AIKO, BEN, CARO):
            await start_and_consent(server, who)
        set_class(services, AIKO, "normal", 1)
        set_class(services, BEN, "normal", 1)
        set_class(services, CARO, "normal", 1)
        await share(server, AIKO, KIND_CARD)
        (card,) = [m for m in await read(server, BEN) if "Walking" in m.text]

        missing = await press(server, CARO, "c:reply:AAAAAAAAAAAAAAAAAAAAAA")
        assert UNAVAILABLE in missing
        for action in ("reply", "helped", "report"):  # Ben's card, never delivered to Caro
            assert await press(server, CARO, card.callback_data_for(action)) == missing
        with Session(services.engine) as session:
            (stored,) = session.exec(select(Card)).all()
        for action in ("reply", "helped", "report"):  # the old id-based buttons
            assert await press(server, CARO, f"c:{action}:{stored.id}") == missing
        assert await press(server, CARO, "c:helped:²") == missing

        server.user_presses_button(BEN, card.callback_data_for("reply"), card)
        await server.wait_for_text(BEN.id, "kind reply")
        server.user_sends_text(BEN, CRUEL_REPLY)
        send = await server.wait_for_button(BEN.id, "c:publish")
        server.user_presses_button(BEN, "c:publish", send)
        held = " ".join(m.text for m in await server.wait_for_reply(BEN.id))
        assert "read it first" in held and "kind" not in held
        await server.wait_until_consumed()

    assert not any("nobody will miss you" in m.text for m in server.sent_messages(AIKO.id))
    assert not any("said it helped" in m.text for m in server.sent_messages(AIKO.id))
    with Session(services.engine) as session:
        flags = session.exec(select(Flag)).all()
        reply = session.exec(select(Card).where(Card.card_type == "peer_reply")).one()
    assert [f.kind for f in flags] == ["toxic_reply"]  # the forged report raised nothing
    assert reply.status == "held"


ANSWERS = ("told the author", "won't see that card again", UNAVAILABLE)


async def test_helped_and_report_alternated_and_replies_to_your_own_card(
    server: FakeBotApi, settings: Settings, services: Services
) -> None:
    """The issue: alternating "helped" and "report" ten times sent ten notices, ten report flags
    and ten alerts; replying to your own card was allowed."""
    async with bot_running(settings, services, drain_interval=0.1):
        for who in (AIKO, BEN):
            await start_and_consent(server, who)
        set_class(services, AIKO, "normal", 1)
        set_class(services, BEN, "normal", 1)
        await share(server, AIKO, KIND_CARD)
        (card,) = [m for m in await read(server, BEN) if "Walking" in m.text]
        helped, report = card.callback_data_for("helped"), card.callback_data_for("report")
        answers = []
        for n in range(10):  # a check-in offered after /read may come in between: skip it
            server.user_presses_button(BEN, (helped, report)[n % 2], card)
            fresh = await server.wait_for_message(
                BEN.id, lambda m: any(f in m.text for f in ANSWERS)
            )
            answers.append(fresh[-1].text)
        assert "told the author" in answers[0] and "won't see that card again" in answers[1]
        assert all(UNAVAILABLE in a for a in answers[2::2])  # nothing works after "Report"

        # Aiko's own card, listed in /mycards: its token allows withdrawing, nothing else.
        server.user_sends_command(AIKO, "/mycards")
        listing = await server.wait_for_button_prefix(AIKO.id, "c:withdraw:")
        own = listing.callback_data_for("withdraw").rsplit(":", 1)[1]
        for action in ("reply", "helped", "report"):
            server.user_presses_button(AIKO, f"c:{action}:{own}", listing)
            fresh = await server.wait_for_message(
                AIKO.id, lambda m: any(f in m.text for f in ANSWERS)
            )
            assert UNAVAILABLE in fresh[-1].text
        await server.wait_until_consumed()
        await asyncio.sleep(0.5)  # let the outbox drain what it would

    notices = [m for m in server.sent_messages(AIKO.id) if "said it helped" in m.text]
    assert len(notices) == 1
    with Session(services.engine) as session:
        reports = session.exec(select(Flag).where(Flag.kind == "report")).all()
        (stored,) = session.exec(select(Card)).all()
    assert len(reports) == 1
    assert (stored.helped_count, stored.report_count) == (1, 1)


MIA = SimulatedPerson(id=8880005, first_name="Mia", username="mia_k", language_code="en")
SOPHIE = SimulatedPerson(
    id=8880006, first_name="Sophie", username="sunny_sophie", language_code="en"
)
ADDRESS_CARD = (
    "Walking every morning helped me through a hard winter. If you're near, come say hi at "
    "14 Elm Street, Leeds LS6 2AB."
)
MIA_CARD = (
    "Walking every morning helped me through a hard winter. It gets better. Love, Mia Kowalski"
)
SOPHIE_CARD = (
    "Walking every morning helped me through a hard winter. It gets better. - Sophie (sunny_sophie)"
)


async def test_addresses_sign_offs_and_bare_usernames_are_scrubbed(
    server: FakeBotApi, settings: Settings, services: Services
) -> None:
    async with bot_running(settings, services, drain_interval=0.1):
        for who in (DAN, MIA, SOPHIE, BEN):
            await start_and_consent(server, who)
            set_class(services, who, "normal", 1)
        for who, text in ((DAN, ADDRESS_CARD), (MIA, MIA_CARD), (SOPHIE, SOPHIE_CARD)):
            said = " ".join(m.text for m in await share(server, who, text))
            assert "out there now" in said
            preview = " ".join(m.text for m in server.sent_messages(who.id))
            assert "removed" in preview  # each author is told what was taken out
        seen = " ".join(m.text for m in await read(server, BEN))
    with Session(services.engine) as session:
        stored = " ".join(c.text for c in session.exec(select(Card)))
    assert stored.count("Walking every morning") == 3
    for secret in ("14 Elm Street", "LS6", "2AB", "Mia", "Kowalski", "Sophie", "sunny_sophie"):
        assert secret not in stored, secret
        assert secret not in seen, secret


async def test_withdraw_deletes_a_delivered_copy(
    server: FakeBotApi, settings: Settings, services: Services
) -> None:
    async with bot_running(settings, services, drain_interval=0.1):
        for who in (AIKO, BEN):
            await start_and_consent(server, who)
        set_class(services, AIKO, "normal", 1)
        set_class(services, BEN, "normal", 1)
        await share(server, AIKO, KIND_CARD)
        (copy,) = [m for m in await read(server, BEN) if "Walking" in m.text]

        server.user_sends_command(AIKO, "/mycards")
        listing = await server.wait_for_button_prefix(AIKO.id, "c:withdraw:")
        withdraw = listing.callback_data_for("withdraw")
        server.user_presses_button(AIKO, withdraw, listing)
        (answer,) = [m.text for m in await server.wait_for_reply(AIKO.id)]
        assert "removing it from the 1 chat" in answer
        (call,) = await server.wait_for_call("deleteMessage")

    assert int(call.params["chat_id"]) == BEN.id
    assert int(call.params["message_id"]) == copy.message_id
    assert copy.deleted
    assert not any(m.deleted for m in server.sent_messages(AIKO.id))
