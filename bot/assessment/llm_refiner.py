"""The LLM refiner: seed 1 §3.6 step 1's "generative model refines the questionnaire".

Through langchain-openai's `ChatOpenAI` with structured output, against any OpenAI-compatible
endpoint, it (1) rewords the question the offline policy chose, (2) reads free text for emotion
evidence, the closest quick reply and how heavy things seem, and (3) may propose one follow-up
question. Everything it returns is validated here (pydantic) and bounded again by the engine;
question and option ids always come from the bank.

The person's words are data: before they go to the provider they are scrubbed with the cards'
scrubber (emails, phone numbers, handles, links, ids and introduced names become masks, worded
in the language the text is written in), and they enter the prompt only between <person_text>
tags, with any such tags inside them removed, also when written in full-width or other
compatibility forms (＜／person_text＞: tags are found on an NFKC reading, the person's own
characters are kept); the system prompt says not to follow them. On timeout, error or output
that does not validate, the refiner returns None and the engine carries on offline; the
warning it logs names the failure type only, never text.

What it writes for the person to read (a rewrite, a follow-up) must also pass `LlmTextGuard`
(bot.assessment.llm_output): the person's language, no crisis language, nothing harmful or
toxic, and the bank's meaning (a rewrite stays close to the question it rewords; a follow-up,
English only, close to some bank question). A rewrite that fails is returned as None, a
follow-up that fails is dropped, so the engine shows the offline question; the warning names
the check that failed, never the text. The same holds for (4) the acknowledgement of a typed
answer, which the LLM may reword from the offline one (bot/assessment/hearing.py): it must be a
remark, not a question, and stay close in meaning to the offline acknowledgement.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field

from bot.assessment.bank import load_banks
from bot.assessment.evidence import acceptable_llm_question, acceptable_llm_remark
from bot.assessment.llm_output import LlmTextGuard, content_classifier_toxicity
from bot.assessment.policy import LlmLimits
from bot.assessment.state import LlmReading, ReadRequest, RewriteRequest
from bot.cards.scrub import scrub
from bot.config import Settings
from bot.domain import Emotion, Language, MoodLevel
from bot.emotion.language import detect_language
from bot.languages import default_language, registry_for
from bot.safety.crisis_screen import CrisisScreen, load_safety_policy
from bot.yaml_files import read_yaml

log = logging.getLogger(__name__)

_TAG = re.compile(r"</?\s*person_text\s*>", re.IGNORECASE)
_MAX_TEXT_CHARS = 2000  # a Telegram message is at most 4096; the reading needs far less


class _Template(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    system: str = Field(min_length=1)
    user: str = Field(min_length=1)


class LlmPrompts(BaseModel):
    """`prompts/<lang>/assessment_llm.yaml`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    rewrite: _Template
    read: _Template


def load_llm_prompts(prompts_dir: Path, language: Language | str) -> LlmPrompts:
    path = Path(prompts_dir) / str(language) / "assessment_llm.yaml"
    try:
        return LlmPrompts.model_validate(read_yaml(path))
    except (OSError, yaml.YAMLError, ValueError) as exc:
        raise ValueError(f"{path}: {exc}") from exc


# --- the schemas the LLM must answer in (sent as the structured-output schema) -------------
class RewrittenQuestion(BaseModel):
    """A warmer wording of the same question."""

    text: str = Field(description="the reworded question", min_length=1, max_length=1000)


class EmotionStrength(BaseModel):
    emotion: Emotion  # its values are the emotion ids the prompt lists
    strength: float = Field(ge=0.0, le=1.0)


class TextReading(BaseModel):
    """Emotion evidence read from a person's message."""

    emotions: list[EmotionStrength] = Field(max_length=4)
    option_id: str | None = Field(description="closest quick-reply option id, or null")
    mood_level: int | None = Field(ge=0, le=3, description="0 light .. 3 very heavy, or null")
    follow_up: str | None = Field(description="one short follow-up question, or null")
    acknowledgement: str | None = Field(
        default=None,
        description="the given acknowledgement reworded to reflect the message, or null",
    )


def delimit_person_text(text: str, language: Language | str | None = None) -> str:
    """The person's text as it may enter a prompt: scrubbed like a card (what could identify
    them masked), tags that could close the data block removed until none is left, length
    capped. The masks are worded in the language the text is written in (Japanese in an
    English session gets ［メール削除］); `language`, the session's, only for a text with no
    letters to tell by."""
    text = _without_tags(text)
    text = scrub(text, str(_text_language(text, language))).text
    return _without_tags(text)[:_MAX_TEXT_CHARS]


def _text_language(text: str, session: Language | str | None) -> Language:
    if not any(ch.isalpha() for ch in text):
        return Language(session) if session else Language(default_language())
    return detect_language(text, session)


def _without_tags(text: str) -> str:
    # Removing one tag can make another ("<<person_text>person_text>"), so repeat until none.
    while True:
        stripped = _remove_tags_once(text)
        if stripped == text:
            return text
        text = stripped


def _remove_tags_once(text: str) -> str:
    """Tags replaced by a space, found on a per-character NFKC reading of the text (full-width
    ＜／ｐｅｒｓｏｎ＿ｔｅｘｔ＞ reads as </person_text>); everything else keeps its characters."""
    folded = [unicodedata.normalize("NFKC", ch) for ch in text]
    owner = [i for i, part in enumerate(folded) for _ in part]  # folded index -> text index
    pieces: list[str] = []
    cursor = 0
    for match in _TAG.finditer("".join(folded)):
        start, end = owner[match.start()], owner[match.end() - 1] + 1
        pieces.extend((text[cursor:start], " "))
        cursor = end
    pieces.append(text[cursor:])
    return "".join(pieces)


class LlmRefiner:
    """`Refiner` backed by a LangChain chat model (ChatOpenAI in production and in tests)."""

    def __init__(
        self,
        chat_model: Any,
        prompts: Mapping[Language, LlmPrompts],
        limits: LlmLimits,
        guard: LlmTextGuard,
    ) -> None:
        self.prompts = dict(prompts)
        self.limits = limits
        self.guard = guard
        method = limits.structured_output_method
        self._rewriter = chat_model.with_structured_output(RewrittenQuestion, method=method)
        self._reader = chat_model.with_structured_output(TextReading, method=method)

    @classmethod
    def from_settings(cls, settings: Settings, limits: LlmLimits) -> LlmRefiner:
        from langchain_openai import ChatOpenAI

        api_key = settings.openai_api_key.get_secret_value() if settings.openai_api_key else None
        chat_model = ChatOpenAI(
            model=settings.llm_model,
            base_url=settings.openai_base_url,
            # A local OpenAI-compatible server often needs no key, but the client insists on one.
            api_key=api_key or "not-needed",
            timeout=settings.llm_timeout_seconds,
            max_retries=0,
            temperature=0.3,
        )
        prompts = {
            Language(code): load_llm_prompts(settings.prompts_dir, code)
            for code in registry_for(settings.prompts_dir).codes
        }
        banks = load_banks(settings.prompts_dir)
        guard = LlmTextGuard(
            CrisisScreen(load_safety_policy(settings.policies_dir / "safety.yaml")),
            content_classifier_toxicity(settings.policies_dir),
            {lang: [q.text for q in bank.questions] for lang, bank in banks.items()},
        )
        return cls(chat_model, prompts, limits, guard)

    def rewrite(self, request: RewriteRequest) -> str | None:
        template = self.prompts[request.language].rewrite
        context = "\n".join(f"- {q} -> {a}" for q, a in request.context) or "-"
        user = template.user.format(
            context=context,
            question=request.question_text,
            options=" / ".join(request.option_labels),
        )
        output = self._invoke(self._rewriter, template.system, user, "rewrite")
        if not isinstance(output, RewrittenQuestion):
            return None
        text = output.text.strip()
        return self._shown_text(
            text,
            "rewrite",
            lambda: self.guard.rewrite_problem(text, request.language, request.question_text),
        )

    def read(self, request: ReadRequest) -> LlmReading | None:
        template = self.prompts[request.language].read
        options = "\n".join(f"{oid}: {label}" for oid, label in request.options) or "-"
        user = template.user.format(
            question=request.question_text or "-",
            options=options,
            may_follow_up="yes" if request.may_follow_up else "no",
            acknowledgement=request.acknowledgement or "-",
            text=delimit_person_text(request.text, request.language),
        )
        output = self._invoke(self._reader, template.system, user, "read")
        if not isinstance(output, TextReading):
            return None
        strengths: dict[Emotion, float] = {}
        for item in output.emotions:
            emotion = Emotion(item.emotion)
            strengths[emotion] = max(strengths.get(emotion, 0.0), item.strength)
        valid_options = {oid for oid, _ in request.options}
        follow_up = output.follow_up.strip() if request.may_follow_up and output.follow_up else ""
        return LlmReading(
            emotions=strengths,
            option_id=output.option_id if output.option_id in valid_options else None,
            mood_level=MoodLevel(output.mood_level) if output.mood_level is not None else None,
            follow_up=(
                self._shown_text(
                    follow_up,
                    "follow-up",
                    lambda: self.guard.follow_up_problem(follow_up, request.language),
                )
                if follow_up
                else None
            ),
            acknowledgement=self._acknowledgement(output.acknowledgement, request),
        )

    def _acknowledgement(self, written: str | None, request: ReadRequest) -> str | None:
        """The LLM's wording of the acknowledgement, if a person may read it: the form of a
        remark (no question, no links), then the same guard as a rewrite, against the offline
        acknowledgement it rewords (language, crisis, harmful, toxic, meaning). Else None: the
        offline acknowledgement is shown."""
        original = request.acknowledgement
        text = (written or "").strip()
        if not original or not text:
            return None
        if not acceptable_llm_remark(text, self.limits.max_question_chars):
            log.warning("assessment: LLM acknowledgement refused (form); offline one used")
            return None
        problem = self.guard.remark_problem(text, request.language, original)
        if problem is not None:
            log.warning("assessment: LLM acknowledgement refused (%s); offline one used", problem)
            return None
        return text

    def _shown_text(self, text: str, what: str, problem_of: Callable[[], str | None]) -> str | None:
        """`text` if the person may read it (`problem_of` finds nothing), else None and a
        warning naming the check.

        Text that fails the engine's form check (`acceptable_llm_question`) is passed on as it
        is: the engine refuses it and says so, and it costs no embedding here."""
        if not acceptable_llm_question(text, self.limits.max_question_chars):
            return text
        problem = problem_of()
        if problem is None:
            return text
        log.warning("assessment: LLM %s refused (%s); offline policy used", what, problem)
        return None

    def _invoke(self, runnable: Any, system: str, user: str, what: str) -> BaseModel | None:
        from langchain_core.messages import HumanMessage, SystemMessage

        try:
            output = runnable.invoke([SystemMessage(system), HumanMessage(user)])
        except Exception as exc:  # timeout, HTTP error, refusal, output that fails the schema
            # The type only: a validation error's message can quote what the model wrote.
            log.warning(
                "assessment: LLM %s failed (%s); offline policy used", what, type(exc).__name__
            )
            return None
        if not isinstance(output, BaseModel):
            log.warning(
                "assessment: LLM %s returned no structured output; offline policy used", what
            )
            return None
        return output
