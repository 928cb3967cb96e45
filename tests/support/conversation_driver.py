"""A small driver for the conversation core in tests: say things as a person, read replies."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session, select

from bot.domain import Inbound, InboundKind, Outbound
from bot.services import Services
from bot.store import tables


@dataclass
class Person:
    services: Services
    ref: str
    language: str = "en"

    def send(self, kind: InboundKind, text: str = "") -> list[Outbound]:
        return self.services.conversation.handle(Inbound(self.ref, kind, text, self.language))

    def says(self, text: str) -> list[Outbound]:
        return self.send(InboundKind.TEXT, text)

    def command(self, text: str) -> list[Outbound]:
        return self.send(InboundKind.COMMAND, text)

    def presses(self, data: str) -> list[Outbound]:
        return self.send(InboundKind.CHOICE, data)

    def consents(self) -> list[Outbound]:
        self.command("/start")
        return self.presses("consent:yes")


def button_data(replies: list[Outbound]) -> list[str]:
    return [b.data for message in replies for row in message.buttons for b in row]


def joined(replies: list[Outbound]) -> str:
    return "\n".join(message.text for message in replies)


def stored_person(services: Services, ref: str) -> tables.Person:
    """The person row behind a Telegram ref (found by its sealed key), detached."""
    key = services.sealer.person_key("telegram", ref)
    with Session(services.engine) as session:
        return session.exec(select(tables.Person).where(tables.Person.key == key)).one()
