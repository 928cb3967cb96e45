"""Per-person keys are read once per transaction, and never outlive what the database says."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlmodel import Session

from bot.store.engine import make_engine, upgrade
from bot.store.keys import create_person_key, forget_key, person_key, seal_for, unseal_for
from bot.store.sealing import Sealer, SealError
from bot.store.tables import Person

SEALER = Sealer("test-secret-0123456789abcdef")


@pytest.fixture()
def engine(tmp_path: Path) -> Iterator[Engine]:
    engine = make_engine(f"sqlite:///{tmp_path / 'keys.db'}")
    upgrade(engine, secret="test-secret-0123456789abcdef")
    yield engine
    engine.dispose()


def _person(engine: Engine, *, with_key: bool = True) -> int:
    with Session(engine) as session:
        person = Person(key="p-1")
        session.add(person)
        session.flush()
        assert person.id is not None
        if with_key:
            create_person_key(session=session, sealer=SEALER, person_id=person.id)
        session.commit()
        return person.id


def _key_reads(engine: Engine) -> list[str]:
    reads: list[str] = []

    def seen(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT") and "person_secret" in statement:
            reads.append(statement)

    event.listen(engine, "before_cursor_execute", seen)
    return reads


def test_a_turn_reads_the_key_once(engine: Engine) -> None:
    person_id = _person(engine)
    reads = _key_reads(engine)
    with Session(engine) as session:
        sealed = [
            seal_for(session=session, sealer=SEALER, person_id=person_id, value=v, purpose="t")
            for v in ("one", "two", "three")
        ]
        opened = [
            unseal_for(session=session, sealer=SEALER, person_id=person_id, token=t, purpose="t")
            for t in sealed
        ]
        session.commit()
    assert opened == ["one", "two", "three"]
    assert len(reads) == 1


def test_forgetting_drops_the_key_at_once(engine: Engine) -> None:
    person_id = _person(engine)
    with Session(engine) as session:
        token = seal_for(
            session=session, sealer=SEALER, person_id=person_id, value="x", purpose="t"
        )
        forget_key(session=session, person_id=person_id)
        assert person_key(session=session, sealer=SEALER, person_id=person_id) is None
        with pytest.raises(SealError):
            unseal_for(
                session=session, sealer=SEALER, person_id=person_id, token=token, purpose="t"
            )


def test_a_key_from_a_rolled_back_transaction_is_not_kept(engine: Engine) -> None:
    person_id = _person(engine, with_key=False)
    with Session(engine) as session:
        create_person_key(session=session, sealer=SEALER, person_id=person_id)
        assert person_key(session=session, sealer=SEALER, person_id=person_id) is not None
        session.rollback()
        assert person_key(session=session, sealer=SEALER, person_id=person_id) is None


def test_another_sessions_forget_is_seen_after_commit(engine: Engine) -> None:
    """The cache lives for one transaction: a /forget elsewhere holds from the next one."""
    person_id = _person(engine)
    with Session(engine) as session:
        assert person_key(session=session, sealer=SEALER, person_id=person_id) is not None
        session.commit()
        with Session(engine) as other:
            forget_key(session=other, person_id=person_id)
            other.commit()
        assert person_key(session=session, sealer=SEALER, person_id=person_id) is None
