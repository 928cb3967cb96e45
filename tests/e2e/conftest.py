"""Fixtures for browser tests: the local Bot API server and Settings pointing at it (as in
tests/integration), and where to keep screenshots (`--console-screenshots DIR`; the README's
pictures in docs/images/ come from `pytest tests/e2e --console-screenshots docs/images`)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.bot_api_fixtures import server, settings  # noqa: F401  (shared fixtures)


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
