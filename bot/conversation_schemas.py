"""Registers the conversation core's data files with `needtotalk policies check`.

policies/safety.yaml (crisis phrases, case retention), policies/crisis_examples.yaml (the crisis
classifier's training examples), policies/crisis_real_texts.yaml (the hand review of the real
texts it also learns from), policies/cards.yaml (card limits), the language packs
(prompts/<code>/language.yaml and what each names: helplines, scrub masks, crisis phrases;
docs/languages.md), kb/helplines.yaml, and the message catalogs
prompts/<lang>/{conversation,cards,counsellor,checkin,menu}.yaml, which must define the same keys
in every language.
"""

from __future__ import annotations

from bot.cards.compose import CardsPolicy
from bot.cards.scrub import ScrubTexts
from bot.config import Settings
from bot.languages import LanguageManifest, LanguageRegistry, load_registry
from bot.policies import PolicyProblem, register_policy_check, register_policy_schema
from bot.safety.classifier import CrisisExamples
from bot.safety.crisis_screen import SafetyPolicy, with_pack_phrases
from bot.safety.helplines import load_helplines
from bot.safety.real_texts import RealTextsReview
from bot.texts import Texts
from bot.yaml_files import read_yaml

register_policy_schema("policies/safety.yaml", SafetyPolicy, required=True)
register_policy_schema("policies/crisis_examples.yaml", CrisisExamples, required=True)
register_policy_schema("policies/crisis_real_texts.yaml", RealTextsReview, required=True)
register_policy_schema("policies/cards.yaml", CardsPolicy, required=True)
register_policy_schema("prompts/*/language.yaml", LanguageManifest, required=True)
# A pack's scrub masks and crisis phrases are checked through the file its manifest names
# (`_packs_problems`), not by file name.


def _registry(settings: Settings) -> LanguageRegistry:
    return load_registry(settings.prompts_dir)


def _packs_problems(settings: Settings) -> list[PolicyProblem]:
    """The packs load together (one default, codes match directories, named files exist), and
    what each names fits with the shared files: its helplines beside kb/helplines.yaml, its crisis
    phrases beside policies/safety.yaml."""
    try:
        languages = _registry(settings)
    except (OSError, ValueError) as exc:
        return [PolicyProblem(str(settings.prompts_dir), "", str(exc))]
    problems: list[PolicyProblem] = []
    try:
        shared = SafetyPolicy.model_validate(read_yaml(settings.policies_dir / "safety.yaml"))
    except (OSError, ValueError):
        shared = None  # reported once, by policies/safety.yaml's own schema
    if shared is not None:
        try:
            with_pack_phrases(shared, languages)
        except (OSError, ValueError) as exc:
            problems.append(PolicyProblem("language packs: crisis phrases", "", str(exc)))
    for code, pack in languages.packs.items():
        path = pack.path(pack.manifest.scrub)
        try:
            ScrubTexts.model_validate(read_yaml(path))
        except (OSError, ValueError) as exc:
            problems.append(PolicyProblem(f"prompts/{code}/{pack.manifest.scrub}", "", str(exc)))
    return problems


def _helplines_problems(settings: Settings) -> list[PolicyProblem]:
    path = settings.kb_dir / "helplines.yaml"
    try:
        load_helplines(path, _registry(settings))
    except (OSError, ValueError, KeyError) as exc:
        return [PolicyProblem(str(path), "", str(exc))]
    return []


def _catalog_problems(settings: Settings) -> list[PolicyProblem]:
    try:
        Texts(settings.prompts_dir, languages=_registry(settings))
    except (OSError, ValueError) as exc:
        return [PolicyProblem(str(settings.prompts_dir), "", str(exc))]
    return []


register_policy_check("language packs", _packs_problems)
register_policy_check("kb/helplines.yaml", _helplines_problems)
register_policy_check("message catalogs", _catalog_problems)
