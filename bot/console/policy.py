"""policies/console.yaml: login lock-out, session length and limits of the counsellor console."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, Field

from bot.policies import load_policy_file, register_policy_schema


class ConsolePolicy(BaseModel):
    max_failed_logins: int = Field(ge=1, le=100)
    lockout_minutes: int = Field(ge=1)
    session_hours: int = Field(ge=1, le=24 * 7)
    min_password_chars: int = Field(ge=8)
    max_message_chars: int = Field(ge=1, le=4000)
    restriction_days: list[int] = Field(min_length=1)


register_policy_schema("policies/console.yaml", ConsolePolicy, required=True)


def load_console_policy(path: Path) -> ConsolePolicy:
    return load_policy_file(path, ConsolePolicy)
