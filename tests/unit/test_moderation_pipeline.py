"""The moderation decision fails closed: crisis and toxic text reach nobody, sad text only
readers who feel good, unreadable text nobody, and a failure inside the pipeline holds the text.
The issue's own examples are decided here with the shipped model and policies."""

from __future__ import annotations

import pytest

from bot.domain import ContentClass, UserClass
from bot.moderation.decision import Verdict
from bot.moderation.pipeline import Moderator

pytestmark = pytest.mark.slow
FEELING_BAD = {UserClass.VULNERABLE, UserClass.HARMFUL}


@pytest.fixture(scope="module")
def moderator() -> Moderator:
    return Moderator()


def test_crisis_card_is_held(moderator: Moderator) -> None:
    decision = moderator.moderate("I want to kill myself tonight.", "en")
    assert decision.decision is Verdict.HOLD
    assert decision.crisis
    assert not decision.readers


def test_indirect_crisis_card_is_held_as_crisis(moderator: Moderator) -> None:
    decision = moderator.moderate(
        "I have the pills ready. Honestly nobody would notice if I wasn't around anymore.", "en"
    )
    assert decision.decision is Verdict.HOLD
    assert decision.crisis and decision.crisis_categories
    assert not decision.readers


@pytest.mark.parametrize(
    "text",
    [
        "If you're reading this and you're depressed, just do everyone a favour and disappear.",
        "Gay people are an abomination and should be ashamed of themselves.",
        "Immigrants are vermin and they should all be thrown out.",
        "Go ahead then, nobody will miss you.",
        "移民は害虫だ。この国から出ていけ。",
        "お前なんか消えろ",
    ],
)
def test_toxic_text_reaches_nobody(moderator: Moderator, text: str) -> None:
    decision = moderator.moderate(text, "en" if text.isascii() else "ja")
    assert decision.decision is Verdict.HOLD, decision.reasons
    assert not decision.readers
    assert not decision.crisis  # an attack on the reader is not the author's crisis


def test_a_threat_is_held_whichever_screen_reads_it(moderator: Moderator) -> None:
    """A threat to hurt someone is held; the crisis screen may also read it as danger to others
    (its "harm to others" category), which puts a counsellor on it at once."""
    decision = moderator.moderate("I know where you live and I will hurt you.", "en")
    assert decision.decision is Verdict.HOLD and not decision.readers


def test_group_dehumanisation_is_toxic_in_content_class(moderator: Moderator) -> None:
    decision = moderator.moderate("Immigrants are vermin and they should all be thrown out.", "en")
    assert decision.content_class is ContentClass.TOXIC


@pytest.mark.parametrize(
    "text",
    [
        "Honestly I try, but I'm just not the kind of person people want around.",
        "I hate myself for how I acted today.",
        "My friends stopped inviting me anywhere and I don't know why.",
        "最近ずっと一人で、誰とも話していない。",
    ],
)
def test_sad_text_never_reaches_a_reader_who_feels_bad(moderator: Moderator, text: str) -> None:
    decision = moderator.moderate(text, "en" if text.isascii() else "ja")
    assert decision.decision is Verdict.RESTRICT, decision.reasons
    assert decision.content_class is ContentClass.VULNERABLE
    assert decision.readers and not decision.readers & FEELING_BAD


def test_profanity_in_a_supportive_card_is_not_toxic(moderator: Moderator) -> None:
    # Profanity alone is not toxicity here. The model is not confident enough to publish it to
    # everyone (it learned swearing from tweets), so it is restricted: never held, never toxic.
    decision = moderator.moderate("This shit is hard, but I made it. You will too.", "en")
    assert decision.decision is not Verdict.HOLD, decision.reasons
    assert decision.content_class is not ContentClass.TOXIC


@pytest.mark.parametrize(
    "text",
    [
        "Going for a short walk every morning helped me more than I expected.",
        "休むことは逃げじゃないよ。ゆっくりでいい。",
    ],
)
def test_supportive_card_first_reaches_readers_who_feel_good(
    moderator: Moderator, text: str
) -> None:
    decision = moderator.moderate(text, "en" if text.isascii() else "ja")
    assert decision.readers == {UserClass.POTENTIAL_HEALING, UserClass.NORMAL}
    assert decision.content_class in (ContentClass.INSPIRATIONAL, ContentClass.ENTERTAINING)
    # Published (on its way to readers who feel bad, by staged exposure) only when the model is
    # sure enough that it is good; otherwise restricted to readers who feel good, for good.
    # And only when the crisis screen's classifier is fairly sure it is no crisis.
    good = decision.scores["inspirational"] + decision.scores["entertaining"]
    thresholds = moderator.policy.thresholds
    crisis = moderator.screen.screen(decision.scrubbed).probability
    assert crisis is not None
    sure = good >= thresholds.publish_confidence and crisis < thresholds.crisis_publish_below
    assert decision.decision is (Verdict.PUBLISH if sure else Verdict.RESTRICT), decision.reasons


def test_a_good_card_read_without_enough_confidence_is_restricted(moderator: Moderator) -> None:
    text = "Going for a short walk every morning helped me more than I expected."
    sure = moderator.moderate(text, "en")
    assert sure.scores["inspirational"] + sure.scores["entertaining"] < 0.999
    policy = moderator.policy
    stricter = policy.model_copy(
        update={"thresholds": policy.thresholds.model_copy(update={"publish_confidence": 0.999})}
    )
    decision = Moderator(policy=stricter).moderate(text, "en")
    assert decision.decision is Verdict.RESTRICT, decision.reasons
    assert decision.content_class is sure.content_class  # its class is what it was read as
    assert decision.readers == {UserClass.POTENTIAL_HEALING, UserClass.NORMAL}
    assert "not sure enough to publish" in decision.reasons[-1]


def test_unreadable_text_is_held(moderator: Moderator) -> None:
    decision = moderator.moderate("Мигранты это паразиты и их надо выгнать", "en")
    assert decision.decision is Verdict.HOLD
    assert not decision.readers
    assert "unreadable" in decision.reasons[0]


def test_text_without_words_is_never_published(moderator: Moderator) -> None:
    decision = moderator.moderate("🔪🔪🔪", "en")
    assert decision.decision is not Verdict.PUBLISH
    assert not decision.readers & FEELING_BAD


def test_scores_and_reasons_explain_the_decision(moderator: Moderator) -> None:
    decision = moderator.moderate("Gay people are an abomination.", "en")
    assert set(decision.scores) >= {"toxic", "offensive", "crisis", "vulnerable", "crisis_screen"}
    assert decision.scores["toxic"] > decision.scores["inspirational"]
    assert decision.reasons


def test_scrubbed_text_is_what_is_relayed(moderator: Moderator) -> None:
    decision = moderator.moderate("Write to me at mia@example.com, it gets better.", "en")
    assert "mia@example.com" not in decision.scrubbed
    assert decision.removed_count == 1


def test_failure_inside_holds(moderator: Moderator, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args: object, **kwargs: object) -> object:
        raise RuntimeError("model unavailable")

    monkeypatch.setattr(moderator, "_moderate", broken)
    decision = moderator.moderate("A perfectly kind card.", "en")
    assert decision.decision is Verdict.HOLD
    assert not decision.readers


def test_a_broken_classifier_holds(moderator: Moderator, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args: object, **kwargs: object) -> object:
        raise OSError("artefact unreadable")

    monkeypatch.setattr(moderator._classifier, "classify", broken)
    decision = moderator.moderate("A perfectly kind card.", "en")
    assert decision.decision is Verdict.HOLD
    assert "OSError" in decision.reasons[0]


def test_author_names_are_masked_in_what_is_relayed(moderator: Moderator) -> None:
    from bot.moderation.decision import AuthorNames

    decision = moderator.moderate(
        "It gets better, I promise. Love, Mia Kowalski",
        "en",
        author_names=AuthorNames(first_name="Mia", last_name="Kowalski"),
    )
    assert "Mia" not in decision.scrubbed and "Kowalski" not in decision.scrubbed
    assert decision.removed_count >= 1


def test_an_unsure_classifier_only_crisis_restricts_and_a_sure_one_holds(
    moderator: Moderator,
) -> None:
    """The crisis screen's classifier alone below `crisis_classifier_hold`: the card is never
    published (restricted, or held for another reason); at or above it: held as a crisis."""
    text = "What's the point of living anymore?"
    result = moderator._screen.screen(text)
    assert result.layers == ("classifier",) and result.probability is not None
    policy = moderator.policy
    above = policy.thresholds.model_copy(
        update={"crisis_classifier_hold": min(1.0, result.probability + 0.01)}
    )
    below = policy.thresholds.model_copy(update={"crisis_classifier_hold": 0.01})
    unsure = Moderator(policy=policy.model_copy(update={"thresholds": above})).moderate(text, "en")
    assert unsure.decision is not Verdict.PUBLISH
    assert not (unsure.readers & {UserClass.VULNERABLE, UserClass.HARMFUL})
    if not unsure.crisis:  # the content model may still read crisis and hold it
        assert unsure.decision is Verdict.RESTRICT
        assert any("possible crisis language" in r for r in unsure.reasons)
    sure = Moderator(policy=policy.model_copy(update={"thresholds": below})).moderate(text, "en")
    assert sure.decision is Verdict.HOLD and sure.crisis
    assert "classifier" in sure.crisis_categories


def test_the_moderation_models_crisis_reading_alone_restricts_and_never_publishes(
    moderator: Moderator,
) -> None:
    """The moderation model's crisis class holds a card as a crisis only when the crisis
    screen's classifier read crisis too; alone it restricts (never to a reader who feels bad).
    Here its bar is set so low that it reads crisis in a calm card the screen passes."""
    from bot.emotion.content_class import ContentClassifier, get_content_classifier

    text = "I made a big pot of soup today and shared it with my neighbour"
    assert not moderator._screen.screen(text).is_crisis
    base = get_content_classifier()
    low = base.moderation.model_copy(
        update={"thresholds": base.moderation.thresholds.model_copy(update={"crisis_hold": 1e-6})}
    )
    eager = ContentClassifier(base.policy, base.engine, low, base.model)
    assert eager.classify(text).crisis
    decision = Moderator(classifier=eager, policy=low).moderate(text, "en")
    assert decision.decision is Verdict.RESTRICT and not decision.crisis
    assert not (decision.readers & {UserClass.VULNERABLE, UserClass.HARMFUL})
    assert any("possible crisis language (moderation model)" in r for r in decision.reasons)


PUBLISHED = "Going for a short walk every morning helped me more than I expected."


def test_a_good_card_the_crisis_classifier_is_not_sure_about_is_restricted(
    moderator: Moderator,
) -> None:
    """Published only when the crisis classifier is fairly sure it is no crisis
    (`crisis_publish_below`): a farewell written as a thank-you reads as inspirational to the
    content model. At a bar below the card's own crisis reading it is restricted, for good."""
    sure = moderator.moderate(PUBLISHED, "en")
    assert sure.decision is Verdict.PUBLISH, sure.reasons
    reading = moderator.screen.screen(PUBLISHED).probability
    assert reading is not None and reading > 0.0
    policy = moderator.policy
    stricter = policy.model_copy(
        update={
            "thresholds": policy.thresholds.model_copy(update={"crisis_publish_below": reading / 2})
        }
    )
    decision = Moderator(policy=stricter).moderate(PUBLISHED, "en")
    assert decision.decision is Verdict.RESTRICT, decision.reasons
    assert decision.content_class is sure.content_class and not decision.crisis
    assert decision.readers == {UserClass.POTENTIAL_HEALING, UserClass.NORMAL}
    assert "crisis classifier not sure" in decision.reasons[-1]


def test_a_card_the_crisis_classifier_could_not_read_is_not_published(
    moderator: Moderator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A crisis classifier that fails leaves the rules' answer (no crisis here), and the card
    is restricted rather than published: fail closed."""
    from bot.emotion.embeddings import clear_embedding_cache

    classifier = moderator.screen.classifier
    assert classifier is not None

    def broken(*args: object, **kwargs: object) -> float:
        raise RuntimeError("model file unreadable")

    monkeypatch.setattr(type(classifier), "probability", broken)
    clear_embedding_cache()
    decision = moderator.moderate(PUBLISHED, "en")
    assert decision.decision is Verdict.RESTRICT, decision.reasons
    assert "crisis classifier did not read it" in decision.reasons[-1]


def test_the_card_and_its_sentences_are_embedded_in_one_pass_with_the_same_decision(
    moderator: Moderator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The card and the sentences the crisis screen reads one by one are embedded in one
    forward pass (the shared cache serves the engine and the screen), and the decision and
    every score are exactly those of one pass per reader."""
    import bot.emotion.embeddings as embeddings

    text = (
        "Work was long and the bus was late again. I made soup when I got home. "
        "Tomorrow I'm meeting my sister for a walk by the river."
    )
    passes: list[int] = []
    forward = embeddings._forward

    def counted(rows: list[tuple[int, ...]]) -> object:
        passes.append(len(rows))
        return forward(rows)

    monkeypatch.setattr(embeddings, "_forward", counted)
    embeddings.clear_embedding_cache()
    shared = Moderator(screen=moderator.screen)
    shared._classifier.engine._cache.clear()  # the engine's own cache of readings
    one_pass = shared.moderate(text, "en")
    assert len(passes) == 1 and passes[0] >= 3, passes  # the card and its sentences
    embeddings.clear_embedding_cache()
    passes.clear()
    monkeypatch.setattr(Moderator, "_embed_once", lambda self, *args: None)
    fresh = Moderator(screen=moderator.screen)
    fresh._classifier.engine._cache.clear()  # the engine's own cache of readings
    separate = fresh.moderate(text, "en")
    assert len(passes) >= 2  # the engine's pass, then the screen's sentences
    assert separate == one_pass
