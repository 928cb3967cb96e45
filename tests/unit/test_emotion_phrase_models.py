"""Classifiers learned from the example phrases (prototypes.py, phrase_lexicon.py)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from bot.domain import EMOTIONS, Emotion, Language
from bot.emotion.phrase_lexicon import PhraseLexicon, char_terms, fit_phrase_lexicon
from bot.emotion.policy import load_emotion_policy
from bot.emotion.prototypes import fit_classifier, load_prototypes

POLICIES = Path(__file__).parents[2] / "policies"
REGRET, HATRED, OPTIMISM = (
    EMOTIONS.index(e) for e in (Emotion.REGRET, Emotion.HATRED, Emotion.OPTIMISM)
)

PHRASES = {
    REGRET: [
        "あの時ああすればよかった",
        "言わなければよかったと後悔している",
        "後悔ばかりの毎日",
        "もっと勉強すればよかった",
        "謝ればよかった",
    ],
    HATRED: [
        "あいつを心から恨んでいる",
        "絶対に許せない",
        "あの人が憎い",
        "恨みが消えない",
        "許せないし憎い",
    ],
    OPTIMISM: [
        "きっと明日はいい日になる",
        "これから良くなる気がする",
        "未来が楽しみだ",
        "きっとうまくいく",
        "明るい未来が待っている",
    ],
}


def _training_rows() -> tuple[list[str], list[int]]:
    texts = [t for phrases in PHRASES.values() for t in phrases]
    owners = [owner for owner, phrases in PHRASES.items() for _ in phrases]
    return texts, owners


def test_char_terms_are_one_to_three_grams_with_spaces_collapsed() -> None:
    assert char_terms("Ab  c") == ["a", "b", " ", "c", "ab", "b ", " c", "ab ", "b c"]
    assert char_terms("") == []


def test_lexicon_reads_unseen_sentences_by_their_characters() -> None:
    lexicon = fit_phrase_lexicon(*_training_rows())
    for text, expected in [
        ("昨日のことを後悔している、ああすればよかった", REGRET),
        ("あの上司だけは許せない、憎い", HATRED),
        ("来年はきっといい年になる", OPTIMISM),
    ]:
        scores = lexicon.centred_log_probabilities(text)
        assert int(np.argmax(scores)) == expected, text
        assert abs(float(scores.mean())) < 1e-4  # centred
    # emotions without a phrase are never chosen; unknown characters give no evidence at all
    assert lexicon.centred_log_probabilities("後悔")[EMOTIONS.index(Emotion.EMPATHY)] < -5
    assert not lexicon.centred_log_probabilities("zzz").any()


def test_lexicon_round_trips_through_its_arrays() -> None:
    lexicon = fit_phrase_lexicon(*_training_rows())
    again = PhraseLexicon.from_arrays(lexicon.arrays("ja_lexicon"), "ja_lexicon")
    text = "もっと早く謝ればよかった"
    np.testing.assert_allclose(
        again.centred_log_probabilities(text), lexicon.centred_log_probabilities(text), atol=0.02
    )


def test_embedding_classifier_separates_clusters() -> None:
    rng = np.random.default_rng(0)
    centres = rng.normal(size=(3, 384))
    owners = np.repeat([REGRET, HATRED, OPTIMISM], 12)
    vectors = np.concatenate([c + 0.3 * rng.normal(size=(12, 384)) for c in centres])
    vectors = (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32)
    classifier = fit_classifier(vectors, owners)
    for centre, owner in zip(centres, (REGRET, HATRED, OPTIMISM), strict=True):
        unit = (centre / np.linalg.norm(centre)).astype(np.float32)
        assert int(np.argmax(classifier.centred_log_probabilities(unit))) == owner


def test_shipped_classifiers_know_every_emotion_in_both_languages() -> None:
    prototypes, _ = load_prototypes(load_emotion_policy(POLICIES))
    for lang in Language:
        assert prototypes.classifiers[lang].weights.shape == (384, len(EMOTIONS))
        assert (prototypes.classifiers[lang].bias > -30).all()
        assert (prototypes.lexicons[lang].intercept > -30).all()
        assert len(prototypes.lexicons[lang].vocabulary) > 1000
