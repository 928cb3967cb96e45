"""The Telegram menu comes from the flows and the menu catalog, so it cannot fall behind: every
command a flow owns is described in every language, in the catalog's order."""

from __future__ import annotations

import pytest

from bot.languages import languages
from bot.services import Services


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_every_command_a_flow_owns_is_in_the_menu_of_every_language(services: Services) -> None:
    menu = services.conversation.command_menu()
    owned = {name.removeprefix("/") for name in services.conversation.registry.commands}
    assert set(menu) == set(languages())
    for language, entries in menu.items():
        names = [name for name, _ in entries]
        assert set(names) == owned, language  # nothing missing, nothing a flow does not own
        assert all(description.strip() for _, description in entries)
    english = [name for name, _ in menu["en"]]
    assert english[:2] == ["start", "help"] and {"checkin", "progress"} <= set(english)
    assert dict(menu["ja"])["forget"] == "あなたのデータをすべて削除"


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_command_without_a_flow_stays_out_of_the_menu(services: Services) -> None:
    services.conversation.registry.commands.pop("/progress")
    names = [name for name, _ in services.conversation.command_menu()["en"]]
    assert "progress" not in names and "checkin" in names
