"""Where messages go, read for many people at once (the outbox claim's one round trip), on
SQLite and PostgreSQL: each person's own channel id, and nothing for a person whose key is gone
(/forget) or who has no address on that channel."""

from __future__ import annotations

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlmodel import Session

from bot.store.addresses import delivery_ref, delivery_refs
from bot.store.keys import forget_key
from bot.store.people import get_or_create_person
from bot.store.sealing import Sealer

SEALER = Sealer("addresses-test-secret-0123456789abcdef")


def test_many_addresses_in_one_query_and_none_for_the_forgotten(engine: Engine) -> None:
    with Session(engine) as session:
        ids: dict[str, int] = {}
        for ref in ("9001", "9002", "9003"):
            person, _ = get_or_create_person(
                session=session, sealer=SEALER, channel="telegram", user_ref=ref, language="en"
            )
            assert person.id is not None
            ids[ref] = person.id
        forget_key(session=session, person_id=ids["9003"])
        session.commit()

    statements: list[str] = []
    event.listen(engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
    with Session(engine) as session:
        refs = delivery_refs(
            session=session, sealer=SEALER, person_ids=set(ids.values()), channel="telegram"
        )
    assert refs == {ids["9001"]: "9001", ids["9002"]: "9002"}
    assert len([s for s in statements if "delivery_address" in s]) == 1

    with Session(engine) as session:  # one person; another channel has no address for them
        assert (
            delivery_ref(session=session, sealer=SEALER, person_id=ids["9002"], channel="telegram")
            == "9002"
        )
        assert (
            delivery_refs(
                session=session, sealer=SEALER, person_ids={ids["9001"]}, channel="console"
            )
            == {}
        )
        assert delivery_refs(session=session, sealer=SEALER, person_ids=set(), channel="x") == {}
