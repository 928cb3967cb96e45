"""The cards flow against the real core and database: double taps, forgetting, old buttons,
and what a copy of the database alone can tell (cases found by a review)."""

from __future__ import annotations

from sqlmodel import Session, select

from bot.services import Services
from bot.store.tables import CardView, Flag, OutboxMessage, Person
from tests.support.conversation_driver import Person as Someone
from tests.support.conversation_driver import button_data, joined, stored_person

CARD = "Walking every morning slowly helped me feel like myself again after a hard winter."


def ready(services: Services, ref: str, user_class: str = "normal") -> Someone:
    person = Someone(services, ref)
    person.consents()
    row = stored_person(services, ref)
    with Session(services.engine) as session:
        row.user_class, row.mood_level, row.state, row.state_data = user_class, 1, "idle", {}
        session.add(row)
        session.commit()
    return person


def share(person: Someone, text: str = CARD) -> None:
    person.command("/share")
    person.says(text)
    assert "out there" in joined(person.presses("c:publish"))


def first_card_id(replies: list) -> int:  # type: ignore[type-arg]
    data = [d for d in button_data(replies) if d.startswith("c:helped:")]
    return int(data[0].rsplit(":", 1)[1])


def outbox_rows(services: Services) -> list[OutboxMessage]:
    with Session(services.engine) as session:
        return list(session.exec(select(OutboxMessage)))


def test_a_double_tap_on_this_helped_tells_the_author_once(services: Services) -> None:
    author, reader = ready(services, "5001"), ready(services, "5002")
    share(author)
    card_id = first_card_id(reader.command("/read"))
    reader.presses(f"c:helped:{card_id}")
    reader.presses(f"c:helped:{card_id}")
    assert len(outbox_rows(services)) == 1


def test_a_double_report_raises_one_flag_about_the_card_not_a_person(services: Services) -> None:
    author, reader = ready(services, "5003"), ready(services, "5004")
    share(author)
    card_id = first_card_id(reader.command("/read"))
    assert "won't see that card again" in joined(reader.presses(f"c:report:{card_id}"))
    reader.presses(f"c:report:{card_id}")
    with Session(services.engine) as session:
        flags = session.exec(select(Flag)).all()
    assert len(flags) == 1
    assert flags[0].person_id is None and flags[0].case_ref.startswith("card-")
    assert "card:" not in " ".join(button_data(reader.command("/read")))  # hidden from them


def test_a_reader_cannot_react_to_a_card_never_shown_to_them(services: Services) -> None:
    author, reader = ready(services, "5005"), ready(services, "5006")
    share(author)
    assert "isn't available" in joined(reader.presses("c:helped:1"))
    assert "isn't available" in joined(reader.presses("c:report:1"))
    assert outbox_rows(services) == []


def test_forget_withdraws_a_reply_still_waiting_in_someone_elses_outbox(
    services: Services,
) -> None:
    author, replier = ready(services, "5007"), ready(services, "5008")
    share(author)
    card_id = first_card_id(replier.command("/read"))
    replier.presses(f"c:reply:{card_id}")
    replier.says("Thank you, the river walk near my home helps me too.")
    assert any("river walk" in str(r.payload) for r in outbox_rows(services))
    replier.command("/forget")
    replier.presses("forget:yes")
    assert not any("river walk" in str(r.payload) for r in outbox_rows(services))


def test_delivered_messages_keep_no_words(services: Services) -> None:
    author, reader = ready(services, "5009"), ready(services, "5010")
    share(author)
    card_id = first_card_id(reader.command("/read"))
    reader.presses(f"c:helped:{card_id}")
    (item,) = services.outbox.due("telegram")
    services.outbox.delivered(item.id)
    assert outbox_rows(services)[0].payload == {}


def test_the_database_does_not_pair_an_author_with_a_reply_to_them(services: Services) -> None:
    author, replier = ready(services, "5011"), ready(services, "5012")
    share(author)
    card_id = first_card_id(replier.command("/read"))
    replier.presses(f"c:reply:{card_id}")
    replier.says("You are not alone in this, thank you for writing it.")
    key = services.sealer.person_key("telegram", "5011")
    with Session(services.engine) as session:
        author_row = session.exec(select(Person).where(Person.key == key)).one()
        views = session.exec(select(CardView).where(CardView.person_id == author_row.id)).all()
    assert views == []


def test_an_author_may_report_a_reply_they_received(services: Services) -> None:
    author, replier = ready(services, "5013"), ready(services, "5014")
    share(author)
    card_id = first_card_id(replier.command("/read"))
    replier.presses(f"c:reply:{card_id}")
    replier.says("Thanks for sharing, it helped me to read this today.")
    reply_report = [
        d
        for r in outbox_rows(services)
        for row in r.payload["buttons"]
        for _, d in row  # type: ignore[union-attr]
    ]
    assert len(reply_report) == 1
    assert "won't see that card again" in joined(author.presses(reply_report[0]))


def test_old_buttons_do_not_throw_away_a_draft(services: Services) -> None:
    author = ready(services, "5015")
    author.command("/share")
    author.says(CARD)
    for stale in ("consent:yes", "a:revisit", "c:more", "menu:read"):
        assert "card waiting" in joined(author.presses(stale)), stale
    assert "out there" in joined(author.presses("c:publish"))


def test_forget_no_returns_to_the_draft_with_its_words(services: Services) -> None:
    author = ready(services, "5016")
    author.command("/share")
    author.says(CARD)
    author.command("/forget")
    author.command("/forget")  # asked twice
    author.presses("forget:no")
    assert "out there" in joined(author.presses("c:publish"))


def test_each_card_type_keeps_its_own_length_limits(services: Services) -> None:
    """policies/card_types.yaml is the one place: stories up to 1000 characters, replies 500."""
    author, replier = ready(services, "5017"), ready(services, "5018")
    author.command("/share")
    assert "very short" in joined(author.says("ok"))
    assert "1001 of 1000" in joined(author.says("a" * 1001))
    share(author)
    card_id = first_card_id(replier.command("/read"))
    replier.presses(f"c:reply:{card_id}")
    assert "501 of 500" in joined(replier.says("b" * 501))


def test_more_brings_kb_cards_not_shown_in_the_last_reads(services: Services) -> None:
    """With no peer cards yet, every batch comes from kb/; "more" used to repeat them."""
    reader = ready(services, "kb-reader")
    batches = [reader.command("/read")] + [reader.presses("c:more") for _ in range(3)]
    shown = [[r.text for r in replies if r.is_card] for replies in batches]
    assert all(len(batch) == 3 for batch in shown), shown
    everything = [text for batch in shown for text in batch]
    assert len(set(everything)) == len(everything), "a kb card came back within four reads"
