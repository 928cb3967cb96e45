"""The local Bot API server and Settings pointing at it: the fixtures the Telegram end-to-end
tests (tests/integration) and the browser tests (tests/e2e) share. Each conftest imports them."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.config import Settings
from tests.conftest import make_settings
from tests.support.fake_bot_api import FakeBotApi


@pytest.fixture
async def server() -> AsyncIterator[FakeBotApi]:
    async with FakeBotApi() as api:
        yield api


@pytest.fixture
def settings(server: FakeBotApi, database_url: str, tmp_path: Path) -> Settings:
    return make_settings(
        database_url,
        tmp_path,
        TELEGRAM_BOT_TOKEN=server.token,
        TELEGRAM_API_BASE_URL=server.base_url,
    )
