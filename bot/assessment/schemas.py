"""Registers the assessment's YAML files with `needtotalk policies check` (bot.policies).

Each file is validated by the same pydantic model the engine loads it with; one extra check
covers what no single file can show: every language's bank has the same question and option
ids (a stored state or a pressed button must mean the same in every language).
"""

from __future__ import annotations

from bot.assessment.bank import QuestionBank, load_banks
from bot.assessment.llm_refiner import LlmPrompts
from bot.assessment.phrases import AssessmentPhrases
from bot.assessment.policy import AssessmentPolicy
from bot.config import Settings
from bot.policies import PolicyProblem, register_policy_check, register_policy_schema

register_policy_schema("policies/assessment.yaml", AssessmentPolicy, required=True)
register_policy_schema("prompts/*/questions.yaml", QuestionBank, required=True)
register_policy_schema("prompts/*/assessment.yaml", AssessmentPhrases, required=True)
register_policy_schema("prompts/*/assessment_llm.yaml", LlmPrompts, required=True)


def check_banks_agree(settings: Settings) -> list[PolicyProblem]:
    try:
        load_banks(settings.prompts_dir)
    except ValueError as exc:
        return [PolicyProblem("prompts/*/questions.yaml", "", str(exc))]
    return []


register_policy_check("assessment banks share ids", check_banks_agree)
