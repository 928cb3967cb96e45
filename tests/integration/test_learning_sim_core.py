"""The learning simulation's people, driven through the whole conversation core (50 x 7).

`needtotalk simulate` calls the learners, the feed and the store directly; here the same hidden
people (bot/sim/learning_sim.py: make_people, live_a_day) talk to the real ConversationService
instead: /read for the day's batch, /checkin and a tap on how they feel. What they are shown is
what the core chose (kb cards, leaning towards the learner's card type), so this checks that the
learned weights reach what a person actually reads and that every check-in is stored and
learned from. SQLite only: the storage paths run on both databases in the other learning tests.
"""

from __future__ import annotations

import random

import pytest
from sqlmodel import Session, select

from bot.config import Settings
from bot.knowledge.kb_files import load_kb_cards
from bot.learning.policy import load_learning_policy
from bot.learning.rules import satisfaction_reward
from bot.learning.service import ANSWERED, SHOWN
from bot.learning.store import events
from bot.services import Services
from bot.sim.learning_sim import live_a_day, make_people
from bot.store.tables import LearnedValue
from tests.support.conversation_driver import Person as Someone
from tests.support.conversation_driver import stored_person

PEOPLE, DAYS = 50, 7


@pytest.mark.slow
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_fifty_people_for_a_week_through_the_core(services: Services, settings: Settings) -> None:
    policy = load_learning_policy()
    actions = list(policy.actions)
    kb_type = {card.text: card.card_type for card in load_kb_cards(settings.kb_dir, "en")}
    people = make_people(PEOPLE, seed=5, policy=policy)
    talkers = []
    for p in people:
        who = Someone(services, f"sim-{p.index}")
        who.consents()
        row = stored_person(services, who.ref)
        with Session(services.engine) as session:
            row.user_class, row.dominant_emotion = p.user_class.value, p.emotion
            row.mood_level, row.state, row.state_data = p.mood_level, "idle", {}
            session.add(row)
            session.commit()
        talkers.append(who)

    pressed: dict[str, list[int]] = {}
    focused = batches = 0
    for day in range(DAYS):
        for p, who in zip(people, talkers, strict=True):
            replies = who.command("/read")
            shown = [
                kb_type[text.split("\n\n", 1)[1]]
                for text in (r.text for r in replies if r.is_card)
                if "\n\n" in text and text.split("\n\n", 1)[1] in kb_type
            ]
            assert shown, "every batch shows kb cards (no peer cards in this run)"
            live_a_day(p, shown, actions, policy.simulation, random.Random(day * 1000 + p.index))
            who.command("/checkin")
            who.presses(f"ck:f:{p.feeling}")
            pressed.setdefault(who.ref, []).append(p.feeling)
            with Session(services.engine) as session:
                row_id = stored_person(services, who.ref).id
                assert row_id is not None
                last = events(session, services.sealer, row_id, kinds=[SHOWN], last=1)[0]
            focused += sum(t == last.data["action"] for t in shown)
            batches += len(shown)

    rewarded = 0
    with Session(services.engine) as session:
        for who in talkers:
            row_id = stored_person(services, who.ref).id
            assert row_id is not None
            answers = events(session, services.sealer, row_id, kinds=[ANSWERED])
            feelings = [int(str(a.data["feeling"])) for a in answers]
            assert feelings == pressed[who.ref]
            for before, answer in zip(feelings, answers[1:], strict=False):
                assert answer.data["reward"] == satisfaction_reward(
                    before, int(str(answer.data["feeling"]))
                )
                rewarded += 1
        learned = list(
            session.exec(
                select(LearnedValue)
                .where(LearnedValue.learner == "thompson")
                .where(LearnedValue.state_key == "all")
            )
        )
    assert rewarded == PEOPLE * (DAYS - 1)
    assert sum(r.visits for r in learned) == rewarded  # every rewarded check-in was learned
    # The learner's card type is over-represented in what people read: uniform would be 1/6.
    # Measured 41 % (427 of 1,050 kb cards) on the learning branch and 31 % (328 of 1,050) once
    # merged with the safe-relay feed: the kb top-up samples only among the cards nearest the
    # query, where the chosen type is not always present. A feed that ignored the learner would
    # sit near 1/6; 1.5 times that is the bar.
    assert focused / batches > 1.5 / len(actions)
