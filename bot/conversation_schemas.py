"""Registers the conversation core's data files with `needtotalk policies check`.

policies/safety.yaml (crisis phrases, case retention), policies/crisis_examples.yaml (the crisis
classifier's training examples), policies/cards.yaml (card limits), kb/helplines.yaml, and the
message catalogs prompts/<lang>/{conversation,cards,counsellor}.yaml, which must define the same
keys in every language.
"""

from __future__ import annotations

from bot.cards.compose import CardsPolicy
from bot.config import Settings
from bot.policies import PolicyProblem, register_policy_check, register_policy_schema
from bot.safety.classifier import CrisisExamples
from bot.safety.crisis_screen import SafetyPolicy
from bot.safety.helplines import load_helplines
from bot.texts import Texts

register_policy_schema("policies/safety.yaml", SafetyPolicy, required=True)
register_policy_schema("policies/crisis_examples.yaml", CrisisExamples, required=True)
register_policy_schema("policies/cards.yaml", CardsPolicy, required=True)


def _helplines_problems(settings: Settings) -> list[PolicyProblem]:
    path = settings.kb_dir / "helplines.yaml"
    try:
        load_helplines(path)
    except (OSError, ValueError, KeyError) as exc:
        return [PolicyProblem(str(path), "", str(exc))]
    return []


def _catalog_problems(settings: Settings) -> list[PolicyProblem]:
    try:
        Texts(settings.prompts_dir)
    except (OSError, ValueError) as exc:
        return [PolicyProblem(str(settings.prompts_dir), "", str(exc))]
    return []


register_policy_check("kb/helplines.yaml", _helplines_problems)
register_policy_check("message catalogs", _catalog_problems)
