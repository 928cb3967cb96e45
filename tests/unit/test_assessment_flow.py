"""The pre-assessment in the conversation, with the real engine, over SQLite and PostgreSQL:
unclear answers, re-assessing and revisiting from the stored result, old and early buttons,
double taps, the not-me phrase typed (right after the result only), and /forget."""

from __future__ import annotations

import pytest
from sqlmodel import Session, col, select

from bot.assessment.bank import QuestionKind, load_banks
from bot.assessment.engine import AssessmentEngine
from bot.assessment.phrases import load_phrases
from bot.assessment.policy import load_policy
from bot.assessment.state import AssessmentState, QuestionPrompt
from bot.domain import EMOTIONS, Language, Outbound
from bot.services import Services
from bot.store.tables import Person
from bot.texts import Texts
from tests.support.conversation_driver import Person as Someone
from tests.support.conversation_driver import button_data, joined, stored_person

pytestmark = pytest.mark.slow


def in_progress(services: Services, ref: str) -> AssessmentState:
    data = stored_person(services, ref).state_data
    return AssessmentState.model_validate(data["assessment"])


def options(replies: list[Outbound]) -> list[str]:
    return [d for d in button_data(replies) if d.startswith("a:") and d != "a:revisit"]


def tap_first_options_until_the_result(person: Someone) -> list[Outbound]:
    replies = person.consents()
    for _ in range(20):
        if not options(replies):
            return replies
        replies = person.presses(options(replies)[0])
    raise AssertionError("the assessment never ended")


def test_answers_that_say_nothing_store_no_class_and_get_a_kind_neutral_reply(
    services: Services,
) -> None:
    settings = services.settings
    person = Someone(services, "2001")
    replies = person.consents()
    for _ in range(20):
        if not options(replies):
            break
        replies = person.says("ok")
    text = joined(replies)
    assert load_phrases(settings.prompts_dir, "en").unclear in text
    assert "It sounds like" not in text  # no made-up reflection
    assert Texts(settings.prompts_dir).get("en", "assess_next") in text  # still the next step
    assert "menu:read" in button_data(replies)
    assert "a:revisit" not in button_data(replies)  # nothing was claimed to say "not me" to
    stored = stored_person(services, "2001")
    assert stored.state == "idle"
    assert stored.dominant_emotion is None and stored.user_class is None
    assert stored.mood_level is None
    assert stored.assessed_at is not None and stored.assessment_state is not None
    # Every reader of the row copes: reading cards uses the unassessed reader class.
    read = person.presses("menu:read")
    assert Texts(settings.prompts_dir).get("en", "error") not in joined(read)
    assert len(read) >= 2


def test_reassessing_after_other_flows_starts_from_the_stored_result(services: Services) -> None:
    person = Someone(services, "2002")
    tap_first_options_until_the_result(person)
    stored = stored_person(services, "2002")
    final = AssessmentState.model_validate(stored.assessment_state)
    assert final.finished and stored.dominant_emotion == final.top_emotion.value
    person.presses("menu:read")  # another flow replaces the conversation's state data
    assert "assessment" not in stored_person(services, "2002").state_data

    person.command("/assess")
    fresh = in_progress(services, "2002")
    weight = load_policy(services.settings.policies_dir).reassess.previous_weight
    assert weight > 0
    for emotion in EMOTIONS:
        expected = (1 - weight) / 16 + weight * final.posterior[emotion]
        assert fresh.posterior[emotion] == pytest.approx(expected)
    assert fresh.answers == [] and not fresh.finished


def test_an_old_not_me_button_after_reading_cards_revisits_the_result(
    services: Services,
) -> None:
    person = Someone(services, "2003")
    result = tap_first_options_until_the_result(person)
    assert "a:revisit" in button_data(result)
    final = AssessmentState.model_validate(stored_person(services, "2003").assessment_state)
    person.presses("menu:read")

    replies = person.presses("a:revisit")
    phrases = load_phrases(services.settings.prompts_dir, "en")
    assert phrases.revisit_ack in joined(replies)
    assert phrases.intro not in joined(replies)  # not a whole new assessment
    again = in_progress(services, "2003")
    assert again.rejected == [final.top_emotion]
    assert again.answers[: len(final.answers)] == final.answers  # what they told us still counts
    asked_now = {d.split(":", 1)[1].split(".", 1)[0] for d in options(replies)}
    assert asked_now and not asked_now & set(final.asked)  # a question not asked before


@pytest.mark.parametrize(
    ("language", "typed"),
    [("en", "That doesn’t sound like me!"), ("en", "not me"), ("ja", "違う気がする。")],
)
def test_typing_not_me_after_the_result_works_like_the_button(
    services: Services, language: str, typed: str
) -> None:
    person = Someone(services, f"2004-{typed}", language=language)
    tap_first_options_until_the_result(person)
    final = AssessmentState.model_validate(stored_person(services, person.ref).assessment_state)
    replies = person.says(typed)
    assert load_phrases(services.settings.prompts_dir, language).revisit_ack in joined(replies)
    assert stored_person(services, person.ref).state == "assessment.asking"
    assert in_progress(services, person.ref).rejected == [final.top_emotion]


@pytest.mark.parametrize(("language", "typed"), [("en", "not me"), ("ja", "当てはまらない")])
def test_not_me_typed_after_reading_cards_is_just_idle_text(
    services: Services, language: str, typed: str
) -> None:
    person = Someone(services, f"2009-{language}", language=language)
    tap_first_options_until_the_result(person)
    person.presses("menu:read")  # now "not me" may well be about a card
    replies = person.says(typed)
    texts = Texts(services.settings.prompts_dir)
    assert texts.get(language, "idle_text") in joined(replies)
    assert load_phrases(services.settings.prompts_dir, language).revisit_ack not in joined(replies)
    assert stored_person(services, person.ref).state == "idle"
    # The button is explicit, so it still revisits the result.
    replies = person.presses("a:revisit")
    assert load_phrases(services.settings.prompts_dir, language).revisit_ack in joined(replies)
    assert stored_person(services, person.ref).state == "assessment.asking"


def test_not_me_typed_with_no_result_on_record_is_just_idle_text(services: Services) -> None:
    person = Someone(services, "2005")
    person.consents()
    person.command("/cancel")  # idle, never assessed
    replies = person.says("not me")
    assert Texts(services.settings.prompts_dir).get("en", "idle_text") in joined(replies)
    assert stored_person(services, "2005").state == "idle"


def test_not_me_pressed_again_mid_assessment_shows_the_current_question(
    services: Services,
) -> None:
    person = Someone(services, "2006")
    first = person.consents()
    current = options(first)
    before = in_progress(services, "2006")
    replies = person.presses("a:revisit")
    assert joined(replies[:1]) == Texts(services.settings.prompts_dir).get("en", "unknown_choice")
    assert options(replies) == current  # the same question again, not nothing
    assert in_progress(services, "2006") == before


def test_a_button_of_a_question_not_asked_yet_is_not_taken_as_an_answer(
    services: Services,
) -> None:
    person = Someone(services, "2007")
    first = person.consents()
    current = options(first)
    showing = current[0].split(":", 1)[1].split(".", 1)[0]
    bank = load_banks(services.settings.prompts_dir)[Language.EN]
    early = next(q for q in bank.questions if q.kind is QuestionKind.EMOTION and q.id != showing)
    replies = person.presses(f"a:{early.id}.{early.options[0].id}")
    assert joined(replies[:1]) == Texts(services.settings.prompts_dir).get("en", "unknown_choice")
    assert options(replies) == current
    state = in_progress(services, "2007")
    assert state.answers == [] and state.asked == []


def test_a_double_tap_is_ignored_silently_and_an_older_button_is_not(
    services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    person = Someone(services, "2010")
    first = options(person.consents())
    second = options(person.presses(first[0]))
    third = options(person.presses(second[0]))
    assert third, "the test needs three questions before the result"
    before = in_progress(services, "2010")
    prompts = 0
    next_prompt = AssessmentEngine.next_prompt

    def counting(self: AssessmentEngine, state: AssessmentState) -> QuestionPrompt | None:
        nonlocal prompts
        prompts += 1
        return next_prompt(self, state)

    monkeypatch.setattr(AssessmentEngine, "next_prompt", counting)
    # The keyboard just answered, tapped again (same option or another): nothing at all, and no
    # question composed again (with an LLM, that would be another rewrite call).
    assert person.presses(second[0]) == []
    assert person.presses(second[-1]) == []
    assert prompts == 0
    assert in_progress(services, "2010") == before
    # A button of an older question: the expired note and the question being asked now.
    replies = person.presses(first[0])
    assert joined(replies[:1]) == Texts(services.settings.prompts_dir).get("en", "unknown_choice")
    assert options(replies) == third
    assert in_progress(services, "2010") == before


def test_a_double_tap_on_the_last_question_leaves_the_result_alone(services: Services) -> None:
    person = Someone(services, "2011")
    replies = person.consents()
    last: list[str] = []
    for _ in range(20):
        if not options(replies):
            break
        last = options(replies)
        replies = person.presses(last[0])
    assert "a:revisit" in button_data(replies) and last
    assert person.presses(last[0]) == []
    assert stored_person(services, "2011").state == "idle"
    # Typed "not me" still refers to the result just shown.
    again = person.says("not me")
    assert load_phrases(services.settings.prompts_dir, "en").revisit_ack in joined(again)
    # Once something else happened, the same button is an old one.
    person.command("/cancel")
    person.presses("menu:read")
    replies = person.presses(last[0])
    assert joined(replies[:1]) == Texts(services.settings.prompts_dir).get("en", "unknown_choice")
    assert "menu:read" in button_data(replies)


def test_forget_deletes_the_stored_assessment(services: Services) -> None:
    person = Someone(services, "2008")
    tap_first_options_until_the_result(person)
    assert stored_person(services, "2008").assessment_state is not None
    person.command("/forget")
    person.presses("forget:yes")
    with Session(services.engine) as session:
        left = session.exec(select(Person).where(col(Person.assessment_state).is_not(None)))
        assert left.all() == []
