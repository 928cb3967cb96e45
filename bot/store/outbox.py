"""The outbox: messages for someone other than the sender wait here until a channel delivers them.

A "this helped" to an author, a reply card, a counsellor's note written in another process: all
go through this table, so a restart loses nothing, and Telegram's 429 `retry_after` is honoured
by moving `next_attempt_at` instead of sleeping in a handler.

What a row keeps (docs/privacy.md): while it waits, its words are sealed in `payload` (AES-GCM
under the server key, bound to the outbox), and a message carrying a card's words names that
card only by a keyed hash (`card_tag`). Once delivered (or given up) the row is deleted: a copy
of the database does not say who was sent what, nor when.
"""

from __future__ import annotations

import json
from datetime import timedelta

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from bot.domain import Button, Outbound, OutboxItem
from bot.store.addresses import delivery_ref
from bot.store.sealing import Sealer, SealError
from bot.store.tables import OutboxMessage, utcnow

MAX_ATTEMPTS = 8


PAYLOAD_PURPOSE = "outbox.payload"
ADDRESS_PURPOSE = "outbox.sealed_address"


def seal_payload(sealer: Sealer, payload: dict[str, object]) -> dict[str, object]:
    return {"sealed": sealer.seal(json.dumps(payload), purpose=PAYLOAD_PURPOSE)}


def open_payload(sealer: Sealer, payload: dict[str, object]) -> dict[str, object] | None:
    """The words of a waiting row; None when they cannot be opened here (another secret)."""
    sealed = payload.get("sealed")
    if not isinstance(sealed, str):
        return payload  # written before payloads were sealed
    try:
        opened = json.loads(sealer.unseal(sealed, purpose=PAYLOAD_PURPOSE))
    except (SealError, ValueError):
        return None
    return opened if isinstance(opened, dict) else None


def card_tag(sealer: Sealer, card_id: int) -> str:
    """How an outbox row names the card whose words it carries: a keyed hash, so a copy of
    the database cannot follow it to the card (and from a reply to the card it answers)."""
    return sealer.keyed_hash("outbox.card", str(card_id))


def outbound_to_payload(message: Outbound) -> dict[str, object]:
    return {
        "text": message.text,
        "buttons": [[[b.label, b.data] for b in row] for row in message.buttons],
        "protect_content": message.protect_content,
        "is_card": message.is_card,
        "flags": sorted(message.flags),
        "delivery_token": message.delivery_token,
    }


def payload_to_outbound(payload: dict[str, object]) -> Outbound:
    rows = payload.get("buttons") or []
    assert isinstance(rows, list)
    flags = payload.get("flags") or []
    assert isinstance(flags, list)
    return Outbound(
        text=str(payload["text"]),
        buttons=tuple(tuple(Button(label=b[0], data=b[1]) for b in row) for row in rows),
        protect_content=bool(payload.get("protect_content")),
        is_card=bool(payload.get("is_card")),
        flags=frozenset(str(f) for f in flags),
        delivery_token=str(token) if (token := payload.get("delivery_token")) else None,
    )


DELETE = "delete"  # payload kind: delete earlier copies instead of sending a message


def delete_ids(payload: dict[str, object]) -> tuple[int, ...]:
    """The message ids a "delete" payload names; () for an ordinary message."""
    if payload.get("kind") != DELETE:
        return ()
    ids = payload.get("message_ids") or []
    assert isinstance(ids, list)
    return tuple(int(i) for i in ids)


def enqueue_delete(
    *, session: Session, sealer: Sealer, address: str, channel: str, message_ids: list[int]
) -> OutboxMessage:
    """Queue the deletion of earlier messages in one chat (a withdrawn card's delivered copy)."""
    row = OutboxMessage(
        sealed_address=sealer.seal(address, purpose=ADDRESS_PURPOSE),
        channel=channel,
        payload=seal_payload(
            sealer, {"kind": DELETE, "message_ids": list(message_ids), "text": ""}
        ),
    )
    session.add(row)
    session.flush()
    return row


def enqueue(
    *,
    session: Session,
    sealer: Sealer,
    person_id: int,
    channel: str,
    message: Outbound,
    card_id: int | None = None,
) -> OutboxMessage:
    row = OutboxMessage(
        person_id=person_id,
        channel=channel,
        payload=seal_payload(sealer, outbound_to_payload(message)),
        card_tag=None if card_id is None else card_tag(sealer, card_id),
    )
    session.add(row)
    session.flush()
    return row


def enqueue_to_address(
    *,
    session: Session,
    sealer: Sealer,
    address: str,
    channel: str,
    message: Outbound,
    case_id: int | None = None,
) -> OutboxMessage:
    """Queue a message for a chat that is not one of our people (the counsellors' chat);
    `case_id`: the case an alert is about, so /forget withdraws an alert not yet sent."""
    row = OutboxMessage(
        sealed_address=sealer.seal(address, purpose=ADDRESS_PURPOSE),
        channel=channel,
        payload=seal_payload(sealer, outbound_to_payload(message)),
        case_id=case_id,
    )
    session.add(row)
    session.flush()
    return row


class OutboxStore:
    """The database side of bot.domain.Outbox, used by the running channel."""

    def __init__(self, engine: Engine, sealer: Sealer) -> None:
        self._engine = engine
        self._sealer = sealer

    def due(self, channel: str, limit: int = 50) -> list[OutboxItem]:
        now = utcnow()
        with Session(self._engine) as session:
            rows = session.exec(
                select(OutboxMessage)
                .where(
                    OutboxMessage.channel == channel,
                    OutboxMessage.status == "pending",
                    OutboxMessage.next_attempt_at <= now,
                )
                .order_by(OutboxMessage.id)  # type: ignore[arg-type]
                .limit(limit)
            ).all()
            items: list[OutboxItem] = []
            for row in rows:
                assert row.id is not None
                if row.person_id is not None:
                    ref = delivery_ref(
                        session=session,
                        sealer=self._sealer,
                        person_id=row.person_id,
                        channel=channel,
                    )
                else:
                    ref = self._open_address(row.sealed_address)
                payload = open_payload(self._sealer, row.payload)
                if ref is None or payload is None:
                    session.delete(row)  # undeliverable: nothing of it is worth keeping
                    continue
                items.append(
                    OutboxItem(
                        id=row.id,
                        recipient_ref=ref,
                        message=payload_to_outbound(payload),
                        attempts=row.attempts,
                        delete_message_ids=delete_ids(payload),
                    )
                )
            session.commit()
            return items

    def _open_address(self, sealed: str | None) -> str | None:
        """None for a row sealed under another secret: one bad row must not stop delivery."""
        try:
            return self._sealer.unseal(sealed, purpose=ADDRESS_PURPOSE) if sealed else None
        except SealError:
            return None

    def _delete(self, item_id: int) -> None:
        with Session(self._engine) as session:
            row = session.get(OutboxMessage, item_id)
            if row is not None:
                session.delete(row)
                session.commit()

    def delivered(self, item_id: int) -> None:
        """Delete the row: a delivered message is the recipient's, not ours, and a row kept
        would say who was sent something, and when."""
        self._delete(item_id)

    def failed(self, item_id: int, retry_after_seconds: float | None = None) -> None:
        with Session(self._engine) as session:
            row = session.get(OutboxMessage, item_id)
            if row is None:
                return
            row.attempts += 1
            if row.attempts >= MAX_ATTEMPTS:  # given up: keep nothing of it
                session.delete(row)
                session.commit()
                return
            else:
                wait = retry_after_seconds if retry_after_seconds is not None else 2**row.attempts
                row.next_attempt_at = utcnow() + timedelta(seconds=wait)
            session.add(row)
            session.commit()

    def undeliverable(self, item_id: int) -> None:
        self._delete(item_id)
