"""policies/inbox.yaml: how many updates one person may have waiting, so one cannot delay others."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, Field

from bot.policies import load_policy_file, register_policy_schema


class InboxPolicy(BaseModel):
    max_waiting_updates_per_person: int = Field(ge=1, le=1000)


register_policy_schema("policies/inbox.yaml", InboxPolicy, required=True)


def load_inbox_policy(path: Path) -> InboxPolicy:
    return load_policy_file(path, InboxPolicy)
