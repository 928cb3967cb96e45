"""Build the assessment engine from Settings: bank and phrases per language, policy, the emotion
engine as the text-evidence reader, and the LLM refiner when an endpoint is configured."""

from __future__ import annotations

import logging

from bot.assessment.bank import load_banks
from bot.assessment.engine import AssessmentEngine
from bot.assessment.phrases import load_phrases
from bot.assessment.policy import load_policy
from bot.assessment.state import EvidenceReader, Refiner
from bot.config import Settings
from bot.domain import EMOTIONS, EmotionReading, Language, Polarity
from bot.languages import default_language, registry_for

log = logging.getLogger(__name__)


class NoTextEvidence:
    """Reads nothing from text: used only when the emotion engine cannot be imported, so the
    questionnaire still runs on its quick replies alone."""

    def read(self, text: str, language: Language | None = None) -> EmotionReading:
        return EmotionReading(
            scores=dict.fromkeys(EMOTIONS, 1.0 / len(EMOTIONS)),
            polarity=Polarity(0.0, 0.0),
            language=language or Language(default_language()),
        )


def default_evidence_reader() -> EvidenceReader:
    try:
        from bot.emotion.engine import get_engine  # type: ignore[import-not-found,unused-ignore]
    except ImportError:
        log.warning("assessment: emotion engine unavailable; free text gives no emotion evidence")
        return NoTextEvidence()
    reader: EvidenceReader = get_engine()
    return reader


def load_engine(
    settings: Settings,
    *,
    evidence_reader: EvidenceReader | None = None,
    use_llm: bool | None = None,
) -> AssessmentEngine:
    """The engine as configured. `use_llm=False` forces the offline policy (e.g. for evals)."""
    banks = load_banks(settings.prompts_dir)
    phrases = {
        Language(code): load_phrases(settings.prompts_dir, code)
        for code in registry_for(settings.prompts_dir).codes
    }
    policy = load_policy(settings.policies_dir)
    refiner: Refiner | None = None
    if settings.llm_enabled if use_llm is None else use_llm:
        from bot.assessment.llm_refiner import LlmRefiner

        refiner = LlmRefiner.from_settings(settings, policy.llm)
    return AssessmentEngine(
        banks,
        policy,
        evidence_reader if evidence_reader is not None else default_evidence_reader(),
        refiner=refiner,
        phrases=phrases,
    )
