"""Check-ins, snooze, crisis quiet, "this helped", /progress and /forget, end to end.

The core is driven as a person would (tests/support/conversation_driver.py); /progress also runs
through the real python-telegram-bot Application against the local Bot API server, where the
PNG must arrive through sendPhoto. SQLite and PostgreSQL.
"""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import Session, col, select

from bot.config import Settings
from bot.learning.policy import load_learning_policy
from bot.learning.service import LearningService
from bot.services import Services
from bot.store.tables import CheckIn, LearnedValue, utcnow
from tests.support.conversation_driver import Person as Someone
from tests.support.conversation_driver import button_data, joined, stored_person
from tests.support.fake_bot_api import FakeBotApi, SimulatedPerson
from tests.support.telegram_harness import bot_running, start_and_consent

FEELINGS = [f"ck:f:{n}" for n in range(1, 6)]
CARD = "Walking every morning slowly helped me feel like myself again after a hard winter."
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def ready(services: Services, ref: str, user_class: str = "normal") -> Someone:
    person = Someone(services, ref)
    person.consents()
    row = stored_person(services, ref)
    with Session(services.engine) as session:
        row.user_class, row.dominant_emotion = user_class, "optimism"
        row.mood_level, row.state, row.state_data = 1, "idle", {}
        session.add(row)
        session.commit()
    return person


def events_of(services: Services, ref: str) -> list[CheckIn]:
    person_id = stored_person(services, ref).id
    with Session(services.engine) as session:
        return list(session.exec(select(CheckIn).where(CheckIn.person_id == person_id)))


def service() -> LearningService:
    return LearningService(load_learning_policy())


def test_a_checkin_after_cards_is_stored_sealed_and_teaches_the_learners(
    services: Services,
) -> None:
    ana = ready(services, "7001")
    after_read = ana.command("/read")
    assert set(FEELINGS) <= set(button_data(after_read))
    assert {"ck:skip", "ck:later"} <= set(button_data(after_read))
    helpful = ana.presses("ck:f:2")
    assert {"ck:h:yes", "ck:h:a_bit", "ck:h:no"} <= set(button_data(helpful))
    assert "Thank you for telling me" in joined(ana.presses("ck:h:a_bit"))

    again = ana.command("/read")  # within min_gap_hours: no second offer
    assert not set(FEELINGS) & set(button_data(again))
    assert set(FEELINGS) <= set(button_data(ana.command("/checkin")))  # asked for: always
    ana.presses("ck:f:4")  # 2 -> 4 after a batch: seed 1's reward is 2

    kinds = [e.kind for e in events_of(services, "7001")]
    assert kinds.count("answered") == 2 and kinds.count("helpful") == 1
    assert all("feeling" not in e.sealed for e in events_of(services, "7001"))
    policy = load_learning_policy()
    with Session(services.engine) as session:
        q_rows = list(session.exec(select(LearnedValue).where(LearnedValue.learner == "q_table")))
    assert [(r.state_key, r.visits) for r in q_rows] == [("normal|optimism|2", 1)]
    assert q_rows[0].value == policy.q_table.alpha * 2.0


def test_later_snoozes_and_skip_is_recorded(services: Services) -> None:
    ben = ready(services, "7002")
    assert "ck:later" in button_data(ben.command("/read"))
    assert "another time" in joined(ben.presses("ck:later"))
    learning, now = service(), utcnow()
    row = stored_person(services, "7002")
    with Session(services.engine) as session:
        assert not learning.checkin_due(session, services.sealer, row, now + timedelta(hours=23))
        assert learning.checkin_due(session, services.sealer, row, now + timedelta(hours=25))
    ben.command("/checkin")
    assert "skipped" in joined(ben.presses("ck:skip"))
    assert [e.kind for e in events_of(services, "7002")][-1] == "skipped"


def test_no_checkin_during_or_right_after_a_crisis(services: Services) -> None:
    cleo = ready(services, "7003")
    cleo.says("I don't want to be alive anymore")
    assert not set(FEELINGS) & set(button_data(cleo.command("/read")))
    assert "not do a check-in right now" in joined(cleo.command("/checkin"))
    quiet = load_learning_policy().checkin.crisis_quiet_hours
    row = stored_person(services, "7003")
    with Session(services.engine) as session:
        later = utcnow() + timedelta(hours=quiet + 1)
        assert service().checkin_due(session, services.sealer, row, later)


def test_this_helped_counts_and_forget_deletes_checkins_and_personal_values(
    services: Services,
) -> None:
    author, reader = ready(services, "7004"), ready(services, "7005")
    author.command("/share")
    author.says(CARD)
    author.presses("c:publish")
    shown = reader.command("/read")
    card = next(d for d in button_data(shown) if d.startswith("c:helped:"))
    reader.presses(card)
    reader_id = stored_person(services, "7005").id
    with Session(services.engine) as session:
        mine = list(session.exec(select(LearnedValue).where(LearnedValue.person_id == reader_id)))
    assert [(r.action, r.visits) for r in mine] == [("peer_story", 1)]
    reader.presses("ck:f:3")

    reader.command("/forget")
    reader.presses("forget:yes")
    with Session(services.engine) as session:
        assert not list(session.exec(select(CheckIn).where(CheckIn.person_id == reader_id)))
        assert not list(
            session.exec(select(LearnedValue).where(LearnedValue.person_id == reader_id))
        )
        everyone = list(
            session.exec(select(LearnedValue).where(col(LearnedValue.person_id).is_(None)))
        )
    assert everyone  # what everyone taught stays, as sums


def test_progress_before_any_checkin_says_so(services: Services) -> None:
    dai = ready(services, "7006")
    replies = dai.command("/progress")
    assert "nothing to show yet" in joined(replies)
    assert all(r.image_png is None for r in replies)


EMI = SimulatedPerson(id=8890001, first_name="Emi", username="emi_k", language_code="ja")


async def test_progress_png_arrives_through_the_bot_api(
    server: FakeBotApi, settings: Settings, services: Services
) -> None:
    async with bot_running(settings, services):
        await start_and_consent(server, EMI)
        for feeling in ("ck:f:2", "ck:f:4"):
            server.user_sends_command(EMI, "/checkin")
            offer = await server.wait_for_button(EMI.id, feeling)
            server.user_presses_button(EMI, feeling, offer)
            await server.wait_for_text(EMI.id, "ありがとう")
        server.user_sends_command(EMI, "/progress")
        sent = await server.wait_for_text(EMI.id, "あなたにしか見えません")
    photos = [m for m in sent if m.photo is not None]
    assert len(photos) == 1
    assert photos[0].photo is not None and photos[0].photo.startswith(PNG_MAGIC)
    assert photos[0].protect_content
    assert [c.method for c in server.calls if c.method == "sendPhoto"] == ["sendPhoto"]
