"""The one list of the bot's parts that plug into the command line and `needtotalk policies check`.

A part is a module; what it plugs in is found by the names it defines, so adding a feature is
one line here and nothing anywhere else:

- ``register(subparsers)``: a top-level ``needtotalk`` command (or group);
- ``register_train(train_subparsers)``: a ``needtotalk train`` subject;
- ``register_eval(eval_subparsers)``: a ``needtotalk eval`` subject;
- ``POLICIES``: importing the module registers the schemas of its YAML files
  (``bot.policies.register_policy_schema`` / ``register_policy_check`` at module level).

Modules are imported only when the command line is built or policies are checked, so a broken
optional part cannot stop `needtotalk chat`. The order is the order `needtotalk --help` lists
commands: talking to the bot first, then operating it, then developers' tools.
tests/unit/test_features.py fails when a module defines one of these hooks (or registers a
schema) without being listed, or is listed for a hook it lacks.
"""

from __future__ import annotations

from dataclasses import dataclass

COMMANDS = "register"
TRAIN = "register_train"
EVAL = "register_eval"
POLICIES = "policies"
HOOKS = (COMMANDS, TRAIN, EVAL, POLICIES)


@dataclass(frozen=True, slots=True)
class Part:
    module: str
    hooks: tuple[str, ...]


PARTS: tuple[Part, ...] = (
    # talking to the bot, running it
    Part("bot.commands.conversation_commands", (COMMANDS,)),
    Part("bot.channels.telegram.commands", (COMMANDS,)),
    Part("bot.console.commands", (COMMANDS,)),
    Part("bot.console.policy", (POLICIES,)),
    Part("bot.commands.db_commands", (COMMANDS,)),
    Part("bot.commands.policies_commands", (COMMANDS,)),
    Part("bot.conversation_schemas", (POLICIES,)),
    Part("bot.knowledge.commands", (COMMANDS,)),
    Part("bot.knowledge.kb_files", (POLICIES,)),
    Part("bot.store.inbox_policy", (POLICIES,)),
    # models and their training
    Part("bot.commands.train_commands", (COMMANDS,)),
    Part("bot.emotion.commands", (COMMANDS, TRAIN)),
    Part("bot.emotion.policy", (POLICIES,)),
    Part("bot.moderation.commands", (COMMANDS, TRAIN)),
    Part("bot.moderation.policy", (POLICIES,)),
    Part("bot.safety.commands", (TRAIN,)),
    # cards, matching, learning, assessment
    Part("bot.cards.commands", (COMMANDS,)),
    Part("bot.cards.card_types", (POLICIES,)),
    Part("bot.cards.limits", (POLICIES,)),
    Part("bot.matching.commands", (COMMANDS,)),
    Part("bot.matching.knapsack_policy", (POLICIES,)),
    Part("bot.matching.visibility", (POLICIES,)),
    Part("bot.learning.policy", (POLICIES,)),
    Part("bot.assessment.commands", (EVAL,)),
    Part("bot.assessment.schemas", (POLICIES,)),
    # measurements and simulations
    Part("bot.commands.eval_commands", (COMMANDS,)),
    Part("bot.sim.commands", (COMMANDS,)),
)


def modules_with(hook: str) -> tuple[str, ...]:
    """The modules that plug in `hook`, in the listed order."""
    if hook not in HOOKS:
        raise ValueError(f"unknown hook {hook!r}; one of {', '.join(HOOKS)}")
    return tuple(part.module for part in PARTS if hook in part.hooks)
