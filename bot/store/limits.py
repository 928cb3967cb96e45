"""What a person sent to others, and when: the counts behind policies/limits.yaml.

Counted in the database, not in memory, so a limit holds across a restart and across workers
sharing one database. A row says only that someone sent a card, a reply or a report at a time:
the sender is a keyed hash of their person key for this purpose alone (not the person id, not
their author seal), so a copy of the database cannot pair a row with a person or with the card
it counted. Rows older than the longest window (a day) are deleted as new ones arrive, and
/forget deletes a person's rows at once.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import delete
from sqlmodel import Session, col, select

from bot.store.sealing import Sealer
from bot.store.tables import ActionEvent, Person, utcnow

KEPT_FOR = timedelta(days=1)  # the longest window a limit counts over


def actor_seal(sealer: Sealer, person: Person) -> str:
    return sealer.keyed_hash("limits", person.key)


def record_action(
    *, session: Session, sealer: Sealer, person: Person, what: str, at: datetime | None = None
) -> None:
    """Count one card, reply or report sent now; drop what no window needs any more."""
    moment = at or utcnow()
    session.exec(delete(ActionEvent).where(col(ActionEvent.at) < moment - KEPT_FOR))
    session.add(ActionEvent(actor_seal=actor_seal(sealer, person), what=what, at=moment))
    session.flush()


def actions_since(
    *, session: Session, sealer: Sealer, person: Person, what: str, since: datetime
) -> Sequence[datetime]:
    """When this person sent `what` since a moment, oldest first."""
    statement = (
        select(ActionEvent.at)
        .where(
            ActionEvent.actor_seal == actor_seal(sealer, person),
            ActionEvent.what == what,
            col(ActionEvent.at) >= since,
        )
        .order_by(col(ActionEvent.at))
    )
    return list(session.exec(statement))


def forget_actions(*, session: Session, sealer: Sealer, person: Person) -> None:
    """/forget: nothing counted about this person stays."""
    session.exec(
        delete(ActionEvent).where(col(ActionEvent.actor_seal) == actor_seal(sealer, person))
    )
