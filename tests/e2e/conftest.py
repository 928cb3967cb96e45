"""Fixtures for browser tests: the local Bot API server and Settings pointing at it (as in
tests/integration), and where to keep screenshots (`--console-screenshots DIR`; the README's
pictures in docs/images/ come from `pytest tests/e2e --console-screenshots docs/images`)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.config import Settings
from tests.conftest import make_settings
from tests.support.fake_bot_api import FakeBotApi


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--console-screenshots",
        default=None,
        help="directory for the console screenshots the browser test takes (default: tmp)",
    )


@pytest.fixture
def screenshots(request: pytest.FixtureRequest, tmp_path: Path) -> Path:
    chosen = request.config.getoption("--console-screenshots")
    folder = Path(chosen) if chosen else tmp_path / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


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
