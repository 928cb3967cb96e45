"""policies/limits.yaml: how many cards, replies and reports one person may send per hour and
per day, and when the next one may go.

One person must not be able to bury everyone else's cards or flood counsellors (a load test saw
thirty cards in two minutes). The counts come from the database (bot/store/limits.py), so they
hold across restarts and workers. Reaching a limit loses nothing: the cards flow keeps the draft
(or the report button) and says when it can go (`Limiter.blocked_until`).
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, model_validator
from sqlmodel import Session

from bot.policies import load_policy_file, register_policy_schema
from bot.store.limits import actions_since, record_action
from bot.store.sealing import Sealer
from bot.store.tables import Person, utcnow

Action = Literal["card", "reply", "report"]
HOUR, DAY = timedelta(hours=1), timedelta(days=1)


class Limit(BaseModel):
    per_hour: int = Field(ge=1, le=1000)
    per_day: int = Field(ge=1, le=10000)

    @model_validator(mode="after")
    def _day_holds_an_hour(self) -> Limit:
        if self.per_day < self.per_hour:
            raise ValueError("per_day must be at least per_hour")
        return self


class LimitsPolicy(BaseModel):
    cards: Limit
    replies: Limit
    reports: Limit

    def limit_for(self, what: Action) -> Limit:
        return {"card": self.cards, "reply": self.replies, "report": self.reports}[what]


register_policy_schema("policies/limits.yaml", LimitsPolicy, required=True)


@cache
def load_limits_policy(path: Path) -> LimitsPolicy:
    return load_policy_file(path, LimitsPolicy)


class Limiter:
    """Asks the database whether a person may send one more `what` now, and counts it."""

    def __init__(self, policy: LimitsPolicy) -> None:
        self.policy = policy

    def blocked_until(
        self,
        *,
        session: Session,
        sealer: Sealer,
        person: Person,
        what: Action,
        now: datetime | None = None,
    ) -> datetime | None:
        """None when one more may go now; otherwise the moment it may (when enough of the
        ones counted have left their window)."""
        moment = now or utcnow()
        limit = self.policy.limit_for(what)
        sent = actions_since(
            session=session, sealer=sealer, person=person, what=what, since=moment - DAY
        )
        waits: list[datetime] = []
        if len(sent) >= limit.per_day:
            waits.append(sent[len(sent) - limit.per_day] + DAY)
        in_hour = [at for at in sent if at >= moment - HOUR]
        if len(in_hour) >= limit.per_hour:
            waits.append(in_hour[len(in_hour) - limit.per_hour] + HOUR)
        return max(waits) if waits else None

    def count(
        self,
        *,
        session: Session,
        sealer: Sealer,
        person: Person,
        what: Action,
        now: datetime | None = None,
    ) -> None:
        record_action(session=session, sealer=sealer, person=person, what=what, at=now)


def minutes_until(moment: datetime, now: datetime | None = None) -> int:
    """Whole minutes until `moment`, rounded up and never below one: "in about 1 minute" is
    kinder and truer than "in 0 minutes"."""
    seconds = (moment - (now or utcnow())).total_seconds()
    return max(1, math.ceil(seconds / 60))
