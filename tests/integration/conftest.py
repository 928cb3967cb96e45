"""Fixtures for the Telegram end-to-end tests: the local Bot API server, Settings pointing at it,
and the real Application long-polling it (the core's `services` fixture, from tests/conftest.py,
uses these settings)."""

from __future__ import annotations

from tests.support.bot_api_fixtures import server, settings  # noqa: F401  (shared fixtures)
