"""Shared fixtures: a database per test, over SQLite and PostgreSQL, and Settings built for it.

PostgreSQL runs on 127.0.0.1:5432 (trust auth, database `test`) on every dev and CI machine.
Each test gets its own schema there (search_path set through the connection options), so tests
never see each other's rows and nothing has to be cleaned up by hand.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from bot.config import Settings
from bot.services import Services, build_services

POSTGRES_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/test"


def _postgres_url(tmp_name: str) -> Iterator[str]:
    schema = f"t_{tmp_name}_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    try:
        yield (
            f"postgresql+psycopg://postgres@127.0.0.1:5432/test?options=-csearch_path%3D{schema}"
        )
    finally:
        with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'needtotalk.db'}"
    else:
        yield from _postgres_url("db")


def make_settings(database_url: str, tmp_path: Path, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "DATABASE_URL": database_url,
        "NEEDTOTALK_ENV": "test",
        "NEEDTOTALK_SECRET_KEY": "test-secret-key-0123456789abcdef",
        "CHROMA_PATH": str(tmp_path / "chroma"),
        "OPENAI_API_KEY": None,
        "OPENAI_BASE_URL": None,
        "TELEGRAM_BOT_TOKEN": None,
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return make_settings(database_url, tmp_path)


@pytest.fixture
def services(settings: Settings) -> Iterator[Services]:
    """The whole core on this test's database (the integration tests' settings add a fake
    Telegram server)."""
    built = build_services(settings, channel="telegram")
    yield built
    built.close()
