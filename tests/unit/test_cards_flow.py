"""The cards flow against the real core, moderation and database: deliveries and their tokens,
staged exposure, reply previews, withdrawing, and what a copy of the database alone can tell
(cases found by reviews and by the safe-relay issue)."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from sqlmodel import Session, select

from bot.conversation import ConversationService
from bot.domain import Outbound
from bot.knowledge.knowledge_base import KnowledgeBase
from bot.moderation.pipeline import Moderator
from bot.safety.crisis_screen import CrisisScreen, WeightedPattern, load_safety_policy
from bot.services import Services, build_flows
from bot.store.cards import approve_card, record_copy
from bot.store.cases import restrict
from bot.store.outbox import open_payload
from bot.store.tables import Card, CardDelivery, Flag, OutboxMessage, Person, utcnow
from bot.texts import Texts
from tests.support.conversation_driver import Person as Someone
from tests.support.conversation_driver import button_data, joined, stored_person

CARD = "Walking every morning slowly helped me feel like myself again after a hard winter."
SAD_CARD = (
    "I feel worthless. I keep failing at everything and I'm scared I'll never be good enough "
    "for anyone."
)
TOXIC = "You are all pathetic losers and I hate every single one of you idiots."
UNAVAILABLE = "isn't available"


def ready(services: Services, ref: str, user_class: str = "normal") -> Someone:
    person = Someone(services, ref)
    person.consents()
    set_class(services, ref, user_class)
    return person


def set_class(services: Services, ref: str, user_class: str) -> None:
    row = stored_person(services, ref)
    with Session(services.engine) as session:
        row.user_class, row.mood_level, row.state, row.state_data = user_class, 1, "idle", {}
        session.add(row)
        session.commit()


def share(person: Someone, text: str = CARD) -> list[Outbound]:
    person.command("/share")
    person.says(text)
    return person.presses("c:publish")


def card_buttons(replies: list[Outbound], action: str = "helped") -> list[str]:
    return [d for d in button_data(replies) if d.startswith(f"c:{action}:")]


def token_of(data: str) -> str:
    return data.rsplit(":", 1)[1]


def raw_outbox(services: Services) -> list[OutboxMessage]:
    with Session(services.engine) as session:
        return list(session.exec(select(OutboxMessage)))


def outbox_rows(services: Services) -> list[OutboxMessage]:
    """The waiting messages with their words opened (they are sealed in the table)."""
    rows = raw_outbox(services)
    for row in rows:
        opened = open_payload(services.sealer, row.payload)
        row.payload = opened.model_dump(mode="json") if opened is not None else {}
    return rows


def stored_cards(services: Services) -> list[Card]:
    with Session(services.engine) as session:
        return list(session.exec(select(Card).order_by(Card.id)))  # type: ignore[arg-type]


def reads(person: Someone, fragment: str) -> bool:
    """Whether /read now gives this person a peer card containing `fragment`."""
    replies = person.command("/read")
    return any(fragment in r.text and r.protect_content for r in replies)


# -- authorization by delivery ---------------------------------------------------------------
def test_buttons_carry_an_opaque_token_that_fits_telegram(services: Services) -> None:
    author, reader = ready(services, "5001"), ready(services, "5002")
    share(author)
    replies = reader.command("/read")
    data = card_buttons(replies, "helped") + card_buttons(replies, "reply")
    data += card_buttons(replies, "report")
    assert len(data) == 3 and len({token_of(d) for d in data}) == 1
    (card,) = stored_cards(services)
    assert str(card.id) != token_of(data[0]) and len(token_of(data[0])) == 22
    assert all(len(d.encode()) <= 64 for d in data)
    (shown,) = [r for r in replies if r.delivery_token]  # the channel reports where it landed
    assert shown.delivery_token == token_of(data[0])


def test_a_double_tap_on_this_helped_tells_the_author_once(services: Services) -> None:
    author, reader = ready(services, "5003"), ready(services, "5004")
    share(author)
    (helped,) = card_buttons(reader.command("/read"))
    for _ in range(3):
        assert "told the author" in joined(reader.presses(helped))
    assert len(outbox_rows(services)) == 1
    assert stored_cards(services)[0].helped_count == 1


def test_a_double_report_raises_one_flag_and_nothing_works_after_it(services: Services) -> None:
    author, reader = ready(services, "5005"), ready(services, "5006")
    share(author)
    replies = reader.command("/read")
    (report,), (helped,), (reply,) = (
        card_buttons(replies, a) for a in ("report", "helped", "reply")
    )
    assert "won't see that card again" in joined(reader.presses(report))
    reader.presses(report)
    for _ in range(5):  # alternating used to send a notice and a flag each time
        assert UNAVAILABLE in joined(reader.presses(helped))
        reader.presses(report)
    assert UNAVAILABLE in joined(reader.presses(reply))
    with Session(services.engine) as session:
        flags = session.exec(select(Flag)).all()
    assert len(flags) == 1
    assert flags[0].person_id is None and flags[0].case_ref.startswith("case-")
    assert outbox_rows(services) == []  # the author heard nothing
    assert not reads(reader, "Walking every morning")  # hidden from them


def test_a_forged_button_is_answered_like_a_missing_card(services: Services) -> None:
    author, reader, other = (ready(services, r) for r in ("5007", "5008", "5009"))
    share(author)
    (card,) = stored_cards(services)
    (others_button,) = card_buttons(other.command("/read"))
    missing = joined(reader.presses("c:helped:AAAAAAAAAAAAAAAAAAAAAA"))
    assert UNAVAILABLE in missing
    for action in ("helped", "reply", "report", "withdraw"):
        # the card exists and was delivered, but to someone else; by id, never delivered at all
        for forged in (f"c:{action}:{token_of(others_button)}", f"c:{action}:{card.id}"):
            assert joined(reader.presses(forged)) == missing, forged
    assert outbox_rows(services) == []
    with Session(services.engine) as session:
        assert session.exec(select(Flag)).all() == []
    assert stored_cards(services)[0].status == "published"


BAD_DATA = (
    "c:helped:²",
    "c:helped:" + "9" * 40,
    "c:report:",
    "c:reply:../../etc",
    "c:withdraw:" + "x" * 200,
    "c:helped:AAAAAAAAAAAAAAAAAAAAA\u00e9",
    "c:",
    "c:zap:AAAAAAAAAAAAAAAAAAAAAA",
    "c",
)


def test_bad_button_data_gets_a_kind_answer(services: Services) -> None:
    reader = ready(services, "5010")
    missing = joined(reader.presses("c:helped:AAAAAAAAAAAAAAAAAAAAAA"))
    for data in BAD_DATA:
        answer = joined(reader.presses(data))
        assert answer == missing or "button" in answer, data
        assert "wrong on our side" not in answer, data


def test_nobody_replies_to_their_own_card(services: Services) -> None:
    author = ready(services, "5011")
    share(author)
    (withdraw,) = [d for d in button_data(author.command("/mycards")) if "withdraw" in d]
    token = token_of(withdraw)
    for action in ("reply", "helped"):
        assert UNAVAILABLE in joined(author.presses(f"c:{action}:{token}"))
    assert author.says("Talking to myself here.")  # still idle, not replying
    assert [c.card_type for c in stored_cards(services)] == ["peer_story"]


# -- staged exposure --------------------------------------------------------------------------
def test_a_new_card_reaches_vulnerable_readers_only_after_enough_helped(
    services: Services,
) -> None:
    author = ready(services, "5020")
    share(author)
    vulnerable = ready(services, "5021", "vulnerable")
    harmful = ready(services, "5022", "harmful")
    assert not reads(vulnerable, "Walking every morning")
    helpers = [ready(services, f"503{i}") for i in range(3)]
    for i, helper in enumerate(helpers):
        (helped,) = card_buttons(helper.command("/read"))
        helper.presses(helped)
        if i < 2:
            assert not reads(harmful, "Walking every morning")
    assert reads(vulnerable, "Walking every morning")
    assert reads(harmful, "Walking every morning")


def test_one_report_keeps_a_card_from_widening_and_enough_reports_hide_it(
    services: Services,
) -> None:
    author = ready(services, "5040")
    share(author)
    readers = [ready(services, f"504{i}") for i in range(1, 6)]
    (report,) = card_buttons(readers[0].command("/read"), "report")
    readers[0].presses(report)
    for helper in readers[1:4]:
        (helped,) = card_buttons(helper.command("/read"))
        helper.presses(helped)
    vulnerable = ready(services, "5049", "vulnerable")
    assert not reads(vulnerable, "Walking every morning")  # helped x3 but reported once
    (report,) = card_buttons(readers[4].command("/read"), "report")
    readers[4].presses(report)
    assert stored_cards(services)[0].status == "under_review"
    assert not reads(ready(services, "5048"), "Walking every morning")  # hidden from everyone


def test_a_counsellor_approval_widens_a_card_at_once(services: Services) -> None:
    author = ready(services, "5050")
    share(author)
    vulnerable = ready(services, "5051", "vulnerable")
    (card,) = stored_cards(services)
    with Session(services.engine) as session:
        assert card.id is not None and approve_card(session=session, card_id=card.id)
        session.commit()
    assert reads(vulnerable, "Walking every morning")


def test_a_sad_card_never_reaches_a_vulnerable_reader(services: Services) -> None:
    author = ready(services, "5060")
    share(author, SAD_CARD)
    (card,) = stored_cards(services)
    assert card.restricted and card.status == "published"
    for i in range(3):
        helper = ready(services, f"506{i + 1}", "potential_healing")
        (helped,) = card_buttons(helper.command("/read"))
        helper.presses(helped)
    with Session(services.engine) as session:
        assert card.id is not None and approve_card(session=session, card_id=card.id)
        session.commit()
    assert not reads(ready(services, "5069", "vulnerable"), "worthless")
    assert not reads(ready(services, "5068", "harmful"), "worthless")


def test_a_held_card_reaches_nobody_and_is_flagged(services: Services) -> None:
    author = ready(services, "5070")
    assert "review" in joined(share(author, TOXIC))
    (card,) = stored_cards(services)
    assert card.status == "held"
    assert not reads(ready(services, "5071"), "pathetic")
    with Session(services.engine) as session:
        (flag,) = session.exec(select(Flag)).all()
    assert flag.kind == "toxic_card" and flag.person_id is None


# -- replies ----------------------------------------------------------------------------------
def start_reply(services: Services, author: Someone, replier: Someone) -> None:
    share(author)
    (reply,) = card_buttons(replier.command("/read"), "reply")
    assert "kind reply" in joined(replier.presses(reply))


def test_a_reply_is_previewed_and_can_be_edited_or_discarded(services: Services) -> None:
    author, replier = ready(services, "5080"), ready(services, "5081")
    start_reply(services, author, replier)
    preview = replier.says("Thank you, write to me at sam@example.com, the river walk helps.")
    assert "how the author will see" in joined(preview)
    assert "sam@example.com" not in joined(preview)
    assert {"c:publish", "c:edit", "c:discard"} <= set(button_data(preview))
    assert "Send it" in [b.label for m in preview for row in m.buttons for b in row]
    assert outbox_rows(services) == []  # nothing leaves before "send"
    assert "kind reply" in joined(replier.presses("c:edit"))
    replier.says("Thank you, the river walk near my home helps me too.")
    assert "thrown that reply away" in joined(replier.presses("c:discard"))
    assert outbox_rows(services) == []
    replier.presses(f"c:reply:{_delivery_token(services)}")  # the card's button still works
    replier.says("Thank you, the river walk near my home helps me too.")
    assert "Thank you for being kind" in joined(replier.presses("c:publish"))
    (row,) = outbox_rows(services)
    assert "river walk" in str(row.payload) and row.payload["delivery_token"]


def _delivery_token(services: Services) -> str:
    with Session(services.engine) as session:
        (delivery,) = session.exec(select(CardDelivery).where(CardDelivery.kind == "card")).all()
    return delivery.token


def test_a_cruel_reply_is_held_and_the_replier_is_not_thanked_for_kindness(
    services: Services,
) -> None:
    author, replier = ready(services, "5082"), ready(services, "5083")
    start_reply(services, author, replier)
    replier.says(TOXIC)
    answer = joined(replier.presses("c:publish"))
    assert "read it first" in answer and "kind" not in answer
    assert outbox_rows(services) == []
    reply = stored_cards(services)[1]
    assert reply.card_type == "peer_reply" and reply.status == "held"
    with Session(services.engine) as session:
        assert [f.kind for f in session.exec(select(Flag))] == ["toxic_reply"]


def test_a_sad_reply_reaches_an_author_who_feels_good_but_waits_for_a_vulnerable_one(
    services: Services,
) -> None:
    author, replier = ready(services, "5084"), ready(services, "5085")
    start_reply(services, author, replier)
    replier.says(SAD_CARD)
    assert "on its way" in joined(replier.presses("c:publish"))
    assert len(outbox_rows(services)) == 1
    set_class(services, "5084", "vulnerable")
    replier.presses(f"c:reply:{_delivery_token(services)}")
    replier.says(SAD_CARD)
    assert "read it first" in joined(replier.presses("c:publish"))
    assert len(outbox_rows(services)) == 1


def test_an_author_may_report_a_reply_they_received_once(services: Services) -> None:
    author, replier = ready(services, "5086"), ready(services, "5087")
    start_reply(services, author, replier)
    replier.says("Thanks for sharing, it helped me to read this today.")
    replier.presses("c:publish")
    (row,) = outbox_rows(services)
    (report,) = [d for r in row.payload["buttons"] for _, d in r]  # type: ignore[union-attr]
    assert report.startswith("c:report:") and token_of(report) == row.payload["delivery_token"]
    assert UNAVAILABLE in joined(replier.presses(report))  # not delivered to the replier
    assert "won't see that card again" in joined(author.presses(report))
    author.presses(report)
    assert UNAVAILABLE in joined(author.presses(f"c:reply:{token_of(report)}"))
    with Session(services.engine) as session:
        assert [f.kind for f in session.exec(select(Flag))] == ["report"]


def test_forget_withdraws_a_reply_still_waiting_in_someone_elses_outbox(
    services: Services,
) -> None:
    author, replier = ready(services, "5090"), ready(services, "5091")
    start_reply(services, author, replier)
    replier.says("Thank you, the river walk near my home helps me too.")
    replier.presses("c:publish")
    assert any("river walk" in str(r.payload) for r in outbox_rows(services))
    replier.command("/forget")
    replier.presses("forget:yes")
    assert not any("river walk" in str(r.payload) for r in outbox_rows(services))
    with Session(services.engine) as session:  # deliveries to the replier went with them
        assert session.exec(select(CardDelivery).where(CardDelivery.kind == "card")).all() == []


def test_delivered_messages_leave_no_row(services: Services) -> None:
    author, reader = ready(services, "5092"), ready(services, "5093")
    share(author)
    (helped,) = card_buttons(reader.command("/read"))
    reader.presses(helped)
    assert "helped" not in str(raw_outbox(services)[0].payload)  # sealed while it waits
    (item,) = services.outbox.due("telegram")
    services.outbox.delivered(item.id)
    assert raw_outbox(services) == []


def test_the_database_does_not_say_who_read_what(services: Services) -> None:
    author, replier = ready(services, "5094"), ready(services, "5095")
    start_reply(services, author, replier)
    replier.says("You are not alone in this, thank you for writing it.")
    replier.presses("c:publish")
    with Session(services.engine) as session:
        people = session.exec(select(Person)).all()
        deliveries = session.exec(select(CardDelivery)).all()
    known = {str(p.id) for p in people} | {p.key for p in people}
    assert {d.kind for d in deliveries} == {"card", "reply"}
    assert len({d.reader_tag for d in deliveries}) == len(deliveries)  # nothing groups them
    for delivery in deliveries:
        assert delivery.reader_tag not in known


# -- withdrawing ------------------------------------------------------------------------------
def test_withdraw_deletes_recent_copies_and_says_how_many_stay(services: Services) -> None:
    author = ready(services, "5100")
    share(author)
    tokens = []
    for ref in ("5101", "5102", "5103"):
        (helped,) = card_buttons(ready(services, ref).command("/read"))
        tokens.append(token_of(helped))
    with Session(services.engine) as session:
        for i, token in enumerate(tokens[:2]):
            assert record_copy(
                session=session,
                sealer=services.sealer,
                token=token,
                channel="telegram",
                chat_ref=f"510{i + 1}",
                message_ids=[700 + i],
                # the second: three days ago, Telegram no longer lets it go
                sent_at=utcnow() - timedelta(days=3 * i),
            )
        session.commit()
    (withdraw,) = [d for d in button_data(author.command("/mycards")) if "withdraw" in d]
    answer = joined(author.presses(withdraw))
    assert "removing it from 1 chat" in answer and "2 older copies could not be removed" in answer
    (item,) = services.outbox.due("telegram")
    assert item.delete_message_ids == (700,) and item.recipient_ref == "5101"
    assert UNAVAILABLE in joined(author.presses(withdraw))  # withdrawn once
    assert stored_cards(services)[0].status == "withdrawn"


def test_withdrawing_a_card_nobody_received_says_so(services: Services) -> None:
    author = ready(services, "5110")
    share(author, TOXIC)
    (withdraw,) = [d for d in button_data(author.command("/mycards")) if "withdraw" in d]
    answer = joined(author.presses(withdraw))
    assert "Nobody new will see it" in answer and "removing" not in answer
    assert outbox_rows(services) == []


# -- unchanged behaviour ----------------------------------------------------------------------
def test_old_buttons_do_not_throw_away_a_draft(services: Services) -> None:
    author = ready(services, "5120")
    author.command("/share")
    author.says(CARD)
    for stale in ("consent:yes", "a:revisit", "c:more", "menu:read"):
        assert "card waiting" in joined(author.presses(stale)), stale
    assert "out there" in joined(author.presses("c:publish"))


def test_forget_no_returns_to_the_draft_with_its_words(services: Services) -> None:
    author = ready(services, "5121")
    author.command("/share")
    author.says(CARD)
    author.command("/forget")
    author.command("/forget")  # asked twice
    author.presses("forget:no")
    assert "out there" in joined(author.presses("c:publish"))


def test_each_card_type_keeps_its_own_length_limits(services: Services) -> None:
    """policies/card_types.yaml is the one place: stories up to 1000 characters, replies 500."""
    author, replier = ready(services, "5122"), ready(services, "5123")
    author.command("/share")
    assert "very short" in joined(author.says("ok"))
    assert "1001 of 1000" in joined(author.says("a" * 1001))
    share(author)
    (reply,) = card_buttons(replier.command("/read"), "reply")
    replier.presses(reply)
    assert "501 of 500" in joined(replier.says("b" * 501))


def test_more_brings_kb_cards_not_shown_in_the_last_reads(services: Services) -> None:
    """With no peer cards yet, every batch comes from kb/; "more" used to repeat them."""
    reader = ready(services, "kb-reader")
    batches = [reader.command("/read")] + [reader.presses("c:more") for _ in range(3)]
    shown = [[r.text for r in replies if r.is_card] for replies in batches]
    assert all(len(batch) == 3 for batch in shown), shown
    everything = [text for batch in shown for text in batch]
    assert len(set(everything)) == len(everything), "a kb card came back within four reads"


# -- crisis found by moderation ---------------------------------------------------------------
PILLS = "I have the pills ready. Honestly nobody would notice if I wasn't around anymore."


def with_stricter_moderation(services: Services) -> tuple[Services, CrisisScreen]:
    """A core whose own screen is the rules alone, and a Moderator whose crisis reading is wider
    (as moderation's own crisis reading can be): the flow, not the core, must then hold the text
    and answer with helplines."""
    rules_only = CrisisScreen(load_safety_policy())
    policy = load_safety_policy()
    policy.categories["suicide_indirect"].patterns["en"].append(
        WeightedPattern(pattern="nobody would notice if i wasn't around", weight=1.0)
    )
    settings = services.settings
    conversation = ConversationService(
        engine=services.engine,
        sealer=services.sealer,
        screen=rules_only,
        helplines=services.helplines,
        texts=Texts(settings.prompts_dir),
        flows=build_flows(
            settings,
            services.helplines,
            KnowledgeBase(settings),
            lambda: Moderator(screen=CrisisScreen(policy)),
        ),
        channel="telegram",
    )
    return replace(services, conversation=conversation), rules_only


def test_crisis_in_a_card_or_reply_is_held_and_answered_with_helplines(
    services: Services,
) -> None:
    strict, core_screen = with_stricter_moderation(services)
    assert not core_screen.screen(PILLS).is_crisis  # the core alone would not see it
    author, replier = ready(strict, "5130"), ready(strict, "5131")
    author.command("/share")
    answer = joined(author.says(PILLS))
    assert "findahelpline.com" in answer and "haven't shared your card" in answer
    assert "c:publish" not in button_data(author.says("Just checking in."))  # not a draft
    share(author)
    (reply,) = card_buttons(replier.command("/read"), "reply")
    replier.presses(reply)
    answer = joined(replier.says(PILLS))
    assert "findahelpline.com" in answer and "haven't sent your reply" in answer
    assert outbox_rows(strict) == []
    cards = stored_cards(strict)
    assert [(c.card_type, c.status) for c in cards if "pills" in c.text] == [
        ("peer_story", "held"),
        ("peer_reply", "held"),
    ]
    with Session(strict.engine) as session:
        flags = session.exec(select(Flag)).all()
    assert [(f.kind, f.severity, f.card_id) for f in flags] == [("crisis", "high", None)] * 2
    assert all(f.person_id is not None for f in flags)  # the writer's case, for outreach


def test_a_counsellor_restriction_pauses_sharing_and_replying(services: Services) -> None:
    author = ready(services, "7101")
    share(author)
    writer = ready(services, "7102")
    cards = writer.command("/read")
    reply_button = card_buttons(cards, "reply")[0]
    row = stored_person(services, "7102")
    assert row.id is not None
    with Session(services.engine) as session:
        for what in ("share", "reply"):
            restrict(
                session=session,
                person_id=row.id,
                what=what,
                until=utcnow() + timedelta(days=1),
                case_id=None,
            )
        session.commit()
    assert "paused sharing" in joined(writer.command("/share"))
    assert "paused replies" in joined(writer.presses(reply_button))
    with Session(services.engine) as session:
        cards_before = len(session.exec(select(Card)).all())
    writer.says("Sending this anyway, it should not become a card.")
    with Session(services.engine) as session:
        assert len(session.exec(select(Card)).all()) == cards_before


def test_repeated_toxic_cards_open_a_case_on_the_writer(services: Services) -> None:
    """Seed 1 §3.7's harmful pattern: each held card's case names nobody; the third toxic card
    within the policy's week also raises a medium flag on the writer, for a counsellor."""
    writer = ready(services, "7201")
    for attempt in range(3):
        share(writer, f"{TOXIC} ({attempt})")
        with Session(services.engine) as session:
            pattern = session.exec(select(Flag).where(Flag.kind == "repeated_toxic")).all()
        assert len(pattern) == (1 if attempt == 2 else 0)
    (flag,) = pattern
    assert flag.person_id is not None and flag.card_id is None and flag.severity == "medium"
