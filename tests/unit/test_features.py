"""bot/features.py is the one registration list: a part that plugs in without being listed (or
is listed for a hook it lacks) fails here, not silently in a missing command or an unchecked
policy file."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

from bot.cli import build_parser
from bot.features import COMMANDS, EVAL, HOOKS, PARTS, POLICIES, TRAIN, modules_with

BOT = Path(__file__).resolve().parents[2] / "bot"
_REGISTRATIONS = {"register_policy_schema", "register_policy_check"}


def _module_name(path: Path) -> str:
    return ".".join(path.relative_to(BOT.parent).with_suffix("").parts)


def _plugs(path: Path) -> set[str]:
    """The hooks a module's source provides: top-level defs, and module-level registrations."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    hooks: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.name in (COMMANDS, TRAIN, EVAL):
            hooks.add(node.name)
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Call):
            func = node.value.func
            if isinstance(func, ast.Name) and func.id in _REGISTRATIONS:
                hooks.add(POLICIES)
    return hooks


def test_every_module_that_plugs_in_is_listed_for_exactly_what_it_provides() -> None:
    found = {
        _module_name(path): hooks
        for path in sorted(BOT.rglob("*.py"))
        if path.name != "policies.py" and (hooks := _plugs(path))
    }
    listed = {part.module: set(part.hooks) for part in PARTS}
    assert found == listed


def test_no_module_is_listed_twice() -> None:
    modules = [part.module for part in PARTS]
    assert len(modules) == len(set(modules))


@pytest.mark.parametrize("hook", [COMMANDS, TRAIN, EVAL])
def test_listed_hooks_exist(hook: str) -> None:
    for module in modules_with(hook):
        assert callable(getattr(importlib.import_module(module), hook)), module


def test_an_unknown_hook_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown hook"):
        modules_with("register_everything")
    assert POLICIES in HOOKS


def test_the_train_group_gathers_every_trainer() -> None:
    parser = build_parser()
    subcommands = {
        action.dest: action
        for action in parser._subparsers._group_actions  # type: ignore[union-attr]
    }
    train = subcommands["command"].choices["train"]  # type: ignore[attr-defined]
    models = set(train._subparsers._group_actions[0].choices)  # type: ignore[union-attr]
    assert {"emotion-head", "emotion-lexical", "moderation", "crisis-classifier"} <= models
