"""The adaptive questionnaire (seed 1 §3.6 step 1): a posterior over the 16 emotions, the next
question by expected information gain, a stop when the dominant emotion is clear.

Two phases, both Bayesian over bank likelihoods:
1. emotion: ask the unasked emotion question with the highest EIG (bot.assessment.information)
   until the top emotion's posterior passes `emotion.stop_threshold` (after `min_questions`) or
   the question budget is spent;
2. mood: the same over mood levels 0-3 (seed 2 §V-B1) with the `mood` questions.
Free text is always accepted: the injected `EvidenceReader` (the emotion engine) gives bounded
emotion evidence and polarity (mood evidence); an optional `Refiner` (LLM) rewords questions,
reads text and may propose one follow-up, all within the bounds in `policies/assessment.yaml`.

The engine never mutates a state it is given; each answer returns a new one.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from bot.assessment.bank import Question, QuestionBank, QuestionKind, split_option_id
from bot.assessment.evidence import (
    MOOD_LEVELS,
    acceptable_llm_question,
    llm_shifts,
    text_emotion_shift,
    text_mood_shift,
)
from bot.assessment.hearing import ReplyKind, acknowledgement, choose_theme, reply_kind
from bot.assessment.information import (
    apply_log_evidence,
    expected_information_gain,
    normalise,
    temper,
)
from bot.assessment.phrases import AssessmentPhrases
from bot.assessment.policy import AssessmentPolicy
from bot.assessment.state import (
    FOLLOW_UP_ID,
    Answer,
    AssessmentResult,
    AssessmentState,
    EvidenceReader,
    LlmReading,
    QuestionPrompt,
    ReadRequest,
    Refiner,
    RewriteRequest,
)
from bot.domain import EMOTIONS, Emotion, EmotionReading, Language, MoodLevel
from bot.emotion.language import detect_language
from bot.recent_cache import RecentCache

log = logging.getLogger(__name__)
# How many question choices an engine keeps (next_question); a few per person in the middle of
# an assessment.
CHOICES_KEPT = 4096


class UnknownAnswer(ValueError):
    """An option id that is not in the bank (a forged or corrupted button)."""


class StaleAnswer(ValueError):
    """An option of a question that is not the one being asked now (an old or early button)."""


@dataclass(frozen=True, slots=True)
class Heard:
    """What became of one typed reply (`AssessmentEngine.hear`): its kind, the new state, and
    what to say first: the acknowledgement, or for a question about the question the plain
    rephrasing (`prompt`, with the same options; the state is then unchanged)."""

    kind: ReplyKind
    state: AssessmentState
    say: str
    prompt: QuestionPrompt | None = None


class AssessmentEngine:
    def __init__(
        self,
        banks: QuestionBank | Mapping[Language, QuestionBank],
        policy: AssessmentPolicy,
        evidence_reader: EvidenceReader,
        refiner: Refiner | None = None,
        phrases: Mapping[Language, AssessmentPhrases] | None = None,
    ) -> None:
        self.banks: dict[Language, QuestionBank] = (
            {banks.language: banks} if isinstance(banks, QuestionBank) else dict(banks)
        )
        self.policy = policy
        self.evidence_reader = evidence_reader
        self.refiner = refiner
        self.phrases: dict[Language, AssessmentPhrases] = dict(phrases or {})
        # next_question's choices by what decides them (see there).
        self._choices: RecentCache[tuple[object, ...], tuple[QuestionBank, Question | None]] = (
            RecentCache(CHOICES_KEPT)
        )

    # ----------------------------------------------------------------- public API
    def start(
        self,
        language: Language | str,
        previous: AssessmentResult | AssessmentState | None = None,
    ) -> AssessmentState:
        """A fresh assessment. A re-assessment passes the earlier result (or the earlier final
        state, as stored) and starts partly from its posterior (`reassess.previous_weight`)."""
        language = Language(language)
        if language not in self.banks:
            raise ValueError(f"no question bank for language {language}")
        prior = np.full(len(EMOTIONS), 1.0 / len(EMOTIONS))
        if previous is not None:
            weight = self.policy.reassess.previous_weight
            before = np.array([previous.posterior.get(e, 0.0) for e in EMOTIONS])
            prior = (1 - weight) * prior + weight * normalise(before)
        stopping = self.policy.emotion
        return AssessmentState(
            language=language,
            posterior=_as_dict(prior),
            mood_posterior=[1.0 / MOOD_LEVELS] * MOOD_LEVELS,
            emotion_budget=stopping.max_questions,
            emotion_minimum=stopping.min_questions,
        )

    def phrases_for(self, language: Language | str) -> AssessmentPhrases:
        """Intro, the "that doesn't sound like me" label, the revisit acknowledgement."""
        return self.phrases[Language(language)]

    def next_question(self, state: AssessmentState) -> Question | None:
        """The bank question to ask next (deterministic given the state), or None."""
        if state.finished:
            return None
        bank = self._bank(state)
        if not state.emotion_decided:
            kind, belief = QuestionKind.EMOTION, _vector(state)
        else:
            kind, belief = QuestionKind.MOOD, np.array(state.mood_posterior)
        # The same state asks the same question: a turn that answers it checks the question
        # the turn before chose (answer_option), and the gains of every unasked question were
        # most of a turn's work. Kept by everything the choice reads, exactly.
        key = (id(bank), kind, belief.tobytes(), tuple(state.asked))
        known = self._choices.get(key)
        if known is not None and known[0] is bank:
            return known[1]
        candidates = [q for q in bank.questions if q.kind is kind and q.id not in state.asked]
        # max() keeps the first of equal gains, so ties go to bank order.
        choice = (
            max(candidates, key=lambda q: expected_information_gain(belief, q.matrix))
            if candidates
            else None
        )
        self._choices.put(key, (bank, choice))
        return choice

    def next_prompt(self, state: AssessmentState) -> QuestionPrompt | None:
        """What to ask now, or None when the assessment is finished (then call `result`)."""
        if state.finished:
            return None
        if state.follow_up:
            return QuestionPrompt(question_id=FOLLOW_UP_ID, text=state.follow_up, kind="follow_up")
        question = self.next_question(state)
        if question is None:
            return None
        text = question.text
        if self.refiner is not None:
            rewritten = self.refiner.rewrite(
                RewriteRequest(
                    language=state.language,
                    question_text=question.text,
                    option_labels=tuple(o.label for o in question.options),
                    context=self._context(state),
                )
            )
            if acceptable_llm_question(rewritten, self.policy.llm.max_question_chars):
                text = (rewritten or "").strip()
            elif rewritten is not None:
                log.warning("assessment: LLM rewrite rejected by the output bounds; bank text used")
        return QuestionPrompt(
            question_id=question.id,
            text=text,
            options=tuple((question.full_option_id(o.id), o.label) for o in question.options),
            kind=question.kind.value,
        )

    def answer_option(self, state: AssessmentState, option_id: str) -> AssessmentState:
        """A quick reply to the question being asked now. Any other bank option (a question
        already answered or not asked yet, or any option after the end or while a free-text
        follow-up waits) raises `StaleAnswer`; an id not in the bank raises `UnknownAnswer`."""
        question, index = self._resolve(state, option_id)
        current = None if state.finished or state.follow_up else self.next_question(state)
        if current is None or question.id != current.id:
            raise StaleAnswer(f"option {option_id!r} is not for the question being asked")
        new = state.model_copy(deep=True)
        row = question.matrix[index]
        if question.kind is QuestionKind.EMOTION:
            new.posterior = _as_dict(normalise(_vector(new) * row))
            new.emotion_questions += 1
        else:
            new.mood_posterior = normalise(np.array(new.mood_posterior) * row).tolist()
            new.mood_questions += 1
        new.asked.append(question.id)
        new.answers.append(Answer(question_id=question.id, option_id=question.options[index].id))
        new.follow_up = None
        new.heard = None
        if question.id in self.policy.overall.duration_questions:
            new.duration_known = True
        return self._advance(new)

    def repeats_last_answer(self, state: AssessmentState, option_id: str) -> bool:
        """True for an option of the question the last answer was a tap on: the same keyboard
        tapped twice (Telegram double taps are common), not a new answer nor an old button."""
        if not state.answers or state.answers[-1].source != "option":
            return False
        try:
            question_id, _ = split_option_id(option_id)
        except ValueError:
            return False
        return question_id == state.answers[-1].question_id

    def answer_text(self, state: AssessmentState, text: str) -> AssessmentState:
        """Free text, as the answer to the current question (or follow-up). The text is read
        for evidence and not kept."""
        return self._answer_text(state, text)[0]

    def _answer_text(self, state: AssessmentState, text: str) -> tuple[AssessmentState, str | None]:
        """`answer_text`, and the LLM's checked rewording of the acknowledgement, if any (it is
        shown once and never stored: it may echo the person's words)."""
        if state.finished or not text.strip():
            return state, None
        new = state.model_copy(deep=True)
        on_follow_up = bool(new.follow_up)
        question = None if on_follow_up else self.next_question(new)
        in_mood_phase = question is not None and question.kind is QuestionKind.MOOD

        # The text's own language, not the session's: a Japanese answer in an English session
        # is still Japanese. The session's decides only between languages its script cannot
        # tell apart (docs/languages.md): text in a session whose pack has no emotion analyser
        # is then read by none, not by the default language's.
        reading = self.evidence_reader.read(text, detect_language(text, new.language))
        self._apply_text_reading(new, reading)
        phrases = self.phrases.get(new.language)
        if phrases is not None:
            choice = choose_theme(phrases, text, reading)
            new.heard = choice.theme
            if choice.said:
                new.said.append(choice.theme)
            if phrases.says_how_long(text):
                new.duration_known = True
        if question is not None and question.id in self.policy.overall.duration_questions:
            new.duration_known = True  # answered the "how long" question in their own words
        ack = self.acknowledgement(new) if phrases is not None else None
        llm = self._llm_read(new, text, question, ack or None)
        if llm is not None:
            self._apply_llm_reading(new, llm, question)

        if in_mood_phase:
            new.mood_questions += 1
        else:
            new.emotion_questions += 1
        if question is not None:
            new.asked.append(question.id)
        new.answers.append(
            Answer(question_id=FOLLOW_UP_ID if question is None else question.id, source="text")
        )
        new.follow_up = None
        new = self._advance(new)
        if (
            llm is not None
            and llm.follow_up
            and not new.emotion_decided
            and new.follow_ups_used < self.policy.llm.max_follow_ups
        ):
            if acceptable_llm_question(llm.follow_up, self.policy.llm.max_question_chars):
                new.follow_up = llm.follow_up.strip()
                new.follow_ups_used += 1
            else:
                log.warning("assessment: LLM follow-up rejected by the output bounds")
        return new, (llm.acknowledgement if llm is not None else None)

    def hear(self, state: AssessmentState, text: str) -> Heard:
        """A typed reply to the question being asked (bot.assessment.hearing): a question about
        the question gets a plain rephrasing and changes nothing; "I don't know" is an answer
        without evidence; anything else is read (`answer_text`) and acknowledged."""
        phrases = self.phrases.get(state.language)
        kind = reply_kind(phrases, text) if phrases is not None else ReplyKind.ANSWER
        if kind is ReplyKind.CLARIFY:
            prompt = self.rephrase(state)
            if prompt is not None:
                return Heard(kind, state, prompt.text, prompt)
            kind = ReplyKind.ANSWER
        if kind is ReplyKind.DONT_KNOW:
            new = self.answer_dont_know(state)
            return Heard(kind, new, self.acknowledgement(new))
        new, reworded = self._answer_text(state, text)
        return Heard(kind, new, reworded or self.acknowledgement(new))

    def acknowledgement(self, state: AssessmentState) -> str:
        """What to say back for the last typed reply (empty after a tap)."""
        phrases = self.phrases.get(state.language)
        if phrases is None or state.heard is None:
            return ""
        return acknowledgement(phrases, state.heard)

    def rephrase(self, state: AssessmentState) -> QuestionPrompt | None:
        """The question being asked now in plainer words (`plain_questions`), with its options;
        a question without a plain version is repeated as it is. Never the LLM: a person who
        did not understand gets the bank's own plain words."""
        if state.finished:
            return None
        phrases = self.phrases.get(state.language)
        intro = phrases.clarify_intro if phrases is not None else ""
        joiner = phrases.joiner if phrases is not None else " "
        if state.follow_up:
            text = joiner.join(p for p in (intro, state.follow_up) if p)
            return QuestionPrompt(question_id=FOLLOW_UP_ID, text=text, kind="follow_up")
        question = self.next_question(state)
        if question is None:
            return None
        plain = phrases.plain_questions.get(question.id) if phrases is not None else None
        text = joiner.join(p for p in (intro, plain or question.text) if p)
        return QuestionPrompt(
            question_id=question.id,
            text=text,
            options=tuple((question.full_option_id(o.id), o.label) for o in question.options),
            kind=question.kind.value,
        )

    def answer_dont_know(self, state: AssessmentState) -> AssessmentState:
        """ "I don't know": the current question is answered without evidence. It counts, like
        any answer, toward the question limits, and after `overall.stop_after_dont_knows` of
        them in a round the assessment ends with what it has."""
        if state.finished:
            return state
        new = state.model_copy(deep=True)
        on_follow_up = bool(new.follow_up)
        question = None if on_follow_up else self.next_question(new)
        if question is not None and question.kind is QuestionKind.MOOD:
            new.mood_questions += 1
        else:
            new.emotion_questions += 1
        if question is not None:
            new.asked.append(question.id)
        new.answers.append(
            Answer(
                question_id=FOLLOW_UP_ID if question is None else question.id, source="dont_know"
            )
        )
        new.follow_up = None
        new.dont_knows += 1
        new.heard = ReplyKind.DONT_KNOW.value
        if new.dont_knows >= self.policy.overall.stop_after_dont_knows:
            return self.finish(new)
        return self._advance(new)

    def revisit(self, state: AssessmentState) -> AssessmentState:
        """The person said "that doesn't sound like me": soften what we believed (keep
        `revisit.temper` of it), push the top emotion down (times `rejected_factor`, and to at
        most half the best other one), and ask a few more questions (at least one, if any are
        left). A result that named no emotion has nothing to push down: it only asks more."""
        new = state.model_copy(deep=True)
        settings = self.policy.revisit
        rejected = self.dominant_emotion(new)
        belief = temper(_vector(new), settings.temper)
        if rejected is not None:
            index = EMOTIONS.index(rejected)
            # Down-weight it, and never leave it on top: the person has just told us it is wrong.
            best_other = float(np.delete(belief, index).max())
            belief[index] = min(belief[index] * settings.rejected_factor, 0.5 * best_other)
            new.rejected.append(rejected)
        new.posterior = _as_dict(normalise(belief))
        new.emotion_budget = new.emotion_questions + settings.extra_questions
        new.emotion_minimum = new.emotion_questions + min(1, settings.extra_questions)
        new.round_start, new.dont_knows, new.heard = len(new.answers), 0, None
        new.decided_after = None
        new.finished = False
        new.follow_up = None
        return self._advance(new)

    def finish(self, state: AssessmentState) -> AssessmentState:
        """End now with what we have (the person would rather stop); `result` then reports it,
        with the "not sure" line if the evidence is thin."""
        new = state.model_copy(deep=True)
        if new.decided_after is None:
            new.decided_after = new.emotion_questions
        new.mood_done, new.follow_up, new.finished = True, None, True
        return new

    def dominant_emotion(self, state: AssessmentState) -> Emotion | None:
        """The top emotion if the evidence names one (`result.min_emotion_posterior`), else None:
        a posterior near uniform has no dominant emotion, only the first of a tie."""
        top = state.top_emotion
        return top if state.posterior[top] >= self.policy.result.min_emotion_posterior else None

    def mood_level(self, state: AssessmentState) -> MoodLevel | None:
        """The most likely mood level if it stands out (`result.min_mood_posterior`), else None."""
        top = int(np.argmax(state.mood_posterior))
        clear = state.mood_posterior[top] >= self.policy.result.min_mood_posterior
        return MoodLevel(top) if clear else None

    def result(self, state: AssessmentState) -> AssessmentResult | None:
        """The outcome once finished; None before."""
        if not state.finished:
            return None
        dominant = self.dominant_emotion(state)
        confidence = state.posterior[state.top_emotion]
        mood = self.mood_level(state)
        phrases = self.phrases.get(state.language)
        sure = confidence >= self.policy.emotion.stop_threshold
        reflection = (
            phrases.reflection(
                dominant,
                mood,
                sure=sure,
                said=_most_said(state.said),
                duration_known=state.duration_known,
            )
            if phrases
            else ""
        )
        return AssessmentResult(
            language=state.language,
            dominant_emotion=dominant,
            user_class=dominant.user_class if dominant is not None else None,
            mood_level=mood,
            confidence=round(float(confidence), 4),
            reflection=reflection,
            posterior=dict(state.posterior),
            questions_asked=len(state.answers),
        )

    # ----------------------------------------------------------------- internals
    def _bank(self, state: AssessmentState) -> QuestionBank:
        return self.banks.get(state.language) or next(iter(self.banks.values()))

    def _resolve(self, state: AssessmentState, option_id: str) -> tuple[Question, int]:
        try:
            question_id, short = split_option_id(option_id)
            question = self._bank(state).get(question_id)
            return question, question.option_index(short)
        except (ValueError, KeyError) as exc:
            raise UnknownAnswer(f"unknown assessment option {option_id!r}") from exc

    def _advance(self, state: AssessmentState) -> AssessmentState:
        """Apply the stopping rules; mutates and returns `state` (always a fresh copy here)."""
        bank = self._bank(state)
        if not state.emotion_decided:
            stopping = self.policy.emotion
            confident = state.posterior[state.top_emotion] >= stopping.stop_threshold
            exhausted = not any(
                q.kind is QuestionKind.EMOTION and q.id not in state.asked for q in bank.questions
            )
            # The whole round asks at most `overall.max_questions`; leave the mood its minimum.
            room = self.policy.overall.max_questions - self.policy.mood.min_questions
            if (
                (confident and state.emotion_questions >= state.emotion_minimum)
                or state.emotion_questions >= state.emotion_budget
                or state.asked_this_round >= room
                or exhausted
            ):
                state.decided_after = state.emotion_questions
        if state.emotion_decided and not state.mood_done:
            mood = self.policy.mood
            exhausted = not any(
                q.kind is QuestionKind.MOOD and q.id not in state.asked for q in bank.questions
            )
            sure = max(state.mood_posterior) >= mood.stop_threshold
            state.mood_done = (
                (sure and state.mood_questions >= mood.min_questions)
                or state.mood_questions >= mood.max_questions
                or state.asked_this_round >= self.policy.overall.max_questions
                or exhausted
            )
        state.finished = state.emotion_decided and state.mood_done and not state.follow_up
        return state

    def _apply_text_reading(self, state: AssessmentState, reading: EmotionReading) -> None:
        emotion = text_emotion_shift(reading, self.policy.text)
        if emotion is not None:
            state.posterior = _as_dict(apply_log_evidence(_vector(state), emotion))
        mood = text_mood_shift(reading, self.policy.text)
        if mood is not None:
            state.mood_posterior = apply_log_evidence(np.array(state.mood_posterior), mood).tolist()

    def _llm_read(
        self,
        state: AssessmentState,
        text: str,
        question: Question | None,
        acknowledgement: str | None = None,
    ) -> LlmReading | None:
        if self.refiner is None:
            return None
        return self.refiner.read(
            ReadRequest(
                language=state.language,
                text=text,
                question_text=question.text if question else state.follow_up,
                options=tuple((o.id, o.label) for o in question.options) if question else (),
                may_follow_up=(
                    not state.emotion_decided
                    and state.follow_ups_used < self.policy.llm.max_follow_ups
                ),
                acknowledgement=acknowledgement,
            )
        )

    def _apply_llm_reading(
        self, state: AssessmentState, reading: LlmReading, question: Question | None
    ) -> None:
        named = reading.option_id
        if question is not None and named is not None and named not in question.option_ids():
            log.warning("assessment: LLM named an option outside the current question")
        emotion, mood = llm_shifts(reading, question, self.policy.llm)
        if emotion is not None:
            state.posterior = _as_dict(apply_log_evidence(_vector(state), emotion))
        if mood is not None:
            state.mood_posterior = apply_log_evidence(np.array(state.mood_posterior), mood).tolist()

    def _context(self, state: AssessmentState) -> tuple[tuple[str, str], ...]:
        """Earlier questions and the labels chosen, in the bank's words (never free text)."""
        bank = self._bank(state)
        pairs: list[tuple[str, str]] = []
        for answer in state.answers:
            if answer.question_id == FOLLOW_UP_ID:
                continue
            question = bank.get(answer.question_id)
            if answer.option_id is None:
                pairs.append((question.text, "(answered in their own words)"))
            else:
                label = question.options[question.option_index(answer.option_id)].label
                pairs.append((question.text, label))
        return tuple(pairs)


def _most_said(said: list[str]) -> str | None:
    """The theme the person named most often (the latest of equals), or None."""
    if not said:
        return None
    counts = Counter(said)
    return max(reversed(said), key=lambda theme: counts[theme])


def _vector(state: AssessmentState) -> np.ndarray:
    return np.array([state.posterior.get(e, 0.0) for e in EMOTIONS])


def _as_dict(p: np.ndarray) -> dict[Emotion, float]:
    return {e: float(v) for e, v in zip(EMOTIONS, p, strict=True)}
