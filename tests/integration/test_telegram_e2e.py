"""NeedToTalk on Telegram, end to end: the real Application, the real core, a real database.

python-telegram-bot runs exactly as `needtotalk run` builds it, long-polling a local Bot API
server (tests/support/fake_bot_api.py) reached through TELEGRAM_API_BASE_URL. Two simulated
people talk to it; the database is SQLite or PostgreSQL (tests/conftest.py `database_url`).
"""

from __future__ import annotations

from sqlmodel import Session, select

from bot.config import Settings
from bot.domain import Outbound
from bot.services import Services, build_services
from bot.store.outbox import enqueue
from bot.store.tables import DeliveryAddress, Flag, OutboxMessage, Person
from tests.support.fake_bot_api import FakeBotApi, SimulatedPerson
from tests.support.telegram_harness import bot_running

AIKO = SimulatedPerson(id=7770001, first_name="Aiko", username="aiko_sato", language_code="ja")
BEN = SimulatedPerson(id=7770002, first_name="Benedikt", username="ben_w_42", language_code="en")


def person_row(services: Services, who: SimulatedPerson) -> Person | None:
    key = services.sealer.person_key("telegram", str(who.id))
    with Session(services.engine) as session:
        return session.exec(select(Person).where(Person.key == key)).first()


async def test_two_people_talk_through_a_restart_and_one_forgets(
    server: FakeBotApi, settings: Settings
) -> None:
    services = build_services(settings, channel="telegram")
    try:
        async with bot_running(settings, services):
            server.user_sends_command(AIKO, "/start")
            server.user_sends_command(BEN, "/start")
            aiko_welcome = await server.wait_for_button(AIKO.id, "consent:yes")
            ben_welcome = await server.wait_for_button(BEN.id, "consent:yes")
            assert "ようこそ" in aiko_welcome.text
            assert "Nobody can see who you are" in ben_welcome.text

            for who, welcome in ((AIKO, aiko_welcome), (BEN, ben_welcome)):
                server.user_presses_button(who, "consent:yes", welcome)
                await server.wait_for_button_prefix(who.id, "a:")  # the first question
            assert len(server.callback_answers) == 2

            server.user_sends_sticker(BEN)
            await server.wait_for_text(BEN.id, "only read text")

            server.user_sends_text(BEN, "honestly I don't want to be alive anymore")
            await server.wait_for_text(BEN.id, "findahelpline.com")
            with Session(services.engine) as session:
                flags = session.exec(select(Flag)).all()
            assert [f.kind for f in flags] == ["crisis"]
            assert str(BEN.id) not in flags[0].case_ref

            server.user_sends_command(BEN, "/forget")
            confirm = await server.wait_for_button(BEN.id, "forget:yes")
    finally:
        services.close()

    # The process is gone; Ben presses "yes" and Aiko writes while the bot is down.
    server.user_presses_button(BEN, "forget:yes", confirm)
    server.user_sends_command(AIKO, "/help")

    services = build_services(settings, channel="telegram")
    try:
        async with bot_running(settings, services):
            await server.wait_for_text(AIKO.id, "/assess")  # written while the bot was down
            done = await server.wait_for_text(BEN.id, "Done")  # the confirmation survived
            assert "deleted" in done[-1].text

        assert person_row(services, BEN) is None
        assert person_row(services, AIKO) is not None
        with Session(services.engine) as session:
            assert session.exec(select(Flag)).all() == []  # Ben's crisis flag went with him
            assert len(session.exec(select(DeliveryAddress)).all()) == 1  # Aiko's only
    finally:
        services.close()
    assert server.pending_updates == 0


async def test_nobody_receives_another_persons_telegram_identity(
    server: FakeBotApi, settings: Settings, services: Services
) -> None:
    async with bot_running(settings, services):
        for who in (AIKO, BEN):
            server.user_sends_command(who, "/start")
            welcome = await server.wait_for_button(who.id, "consent:yes")
            server.user_presses_button(who, "consent:yes", welcome)
            await server.wait_for_button_prefix(who.id, "a:")  # the first question
        for who in (AIKO, BEN):
            # People type their own names and handles; none of it may reach the other one.
            server.user_sends_text(who, f"I'm {who.first_name}, @{who.username}, id {who.id}")
            server.user_sends_text(who, "I want to die")  # a flag: counsellor-facing, not peers
            server.user_sends_command(who, "/help")
        for who in (AIKO, BEN):
            await server.wait_for_text(who.id, "/assess")  # the /help reply, sent last
        outbox_id = _enqueue_for(services, BEN, Outbound("A reader was helped by you"))
        await server.wait_for_messages(BEN.id, 1)
    assert outbox_id > 0
    for receiver, other in ((AIKO, BEN), (BEN, AIKO)):
        received = server.sent_messages(receiver.id)
        assert received
        for message in received:
            blob = f"{message.text} {message.reply_markup or ''}"
            for identifier in other.identifiers:
                assert identifier not in blob, (receiver.first_name, identifier)


def _enqueue_for(services: Services, who: SimulatedPerson, message: Outbound) -> int:
    row = person_row(services, who)
    assert row is not None and row.id is not None
    with Session(services.engine) as session:
        item = enqueue(
            session=session,
            sealer=services.sealer,
            person_id=row.id,
            channel="telegram",
            message=message,
        )
        session.commit()
        assert item.id is not None
        return item.id


async def test_outbox_delivery_429_retry_and_protect_content(
    server: FakeBotApi, settings: Settings, services: Services
) -> None:
    async with bot_running(settings, services, drain_interval=0.1):
        for who in (AIKO, BEN):
            server.user_sends_command(who, "/start")
            await server.wait_for_button(who.id, "consent:yes")
        server.block_bot(BEN)
        server.flood_wait_next(retry_after=1)
        card = Outbound("Someone wrote back: you are not alone", protect_content=True, is_card=True)
        note = Outbound("A counsellor is here if you want to talk")
        card_id = _enqueue_for(services, AIKO, card)
        note_id = _enqueue_for(services, AIKO, note)
        blocked_id = _enqueue_for(services, BEN, note)
        delivered = await server.wait_for_messages(AIKO.id, 2, timeout=10)

        def statuses() -> dict[int, str]:
            with Session(services.engine) as session:
                return {r.id or 0: r.status for r in session.exec(select(OutboxMessage)).all()}

        for _ in range(100):
            now = statuses()  # a send is recorded after Telegram's answer: wait for the records
            if all(i not in now for i in (card_id, note_id, blocked_id)):
                break
            await server.wait_for_call("getUpdates", len(server.calls_to("getUpdates")) + 1)

    assert [(m.text, m.protect_content) for m in delivered] == [
        (card.text, True),
        (note.text, False),
    ]
    # after the two welcomes, the first send got the 429 (recipients are served concurrently,
    # so it may be either); its retry to the same chat waited the 1 s Telegram asked for
    refused, *later = server.calls_to("sendMessage")[2:]
    retry = next(c for c in later if c.params["chat_id"] == refused.params["chat_id"])
    assert retry.at - refused.at >= 1.0
    final = statuses()
    # delivered and undeliverable rows are deleted: nothing says who was sent what (so the
    # 429 was waited out by AIORateLimiter(max_retries=...) inside the one attempt: a failed
    # attempt would have left the card's row waiting with attempts=1)
    assert card_id not in final and note_id not in final and blocked_id not in final
