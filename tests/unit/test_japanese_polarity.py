from bot.emotion.japanese import polarity, polarity_counts, tokenize


def test_tokenize_gives_dictionary_forms() -> None:
    bases = [t.base for t in tokenize("楽しくない")]
    assert bases[0] == "楽しい"


def test_negative_and_positive_texts() -> None:
    assert polarity_counts("毎日だるいし憂鬱で眠れない").negative >= 2
    happy = polarity("今日は嬉しかった！友達と会えて幸せ")
    assert happy.pos > happy.neg


def test_negation_flips_a_positive_word() -> None:
    counts = polarity_counts("楽しくない")
    assert (counts.positive, counts.negative) == (0, 1)


def test_no_polar_words_is_flat() -> None:
    flat = polarity("ok")
    assert flat.pos == flat.neg == 0.5


def test_received_anger_reads_as_sadness_but_the_writers_own_stays_anger() -> None:
    """怒られた (being scolded) is not the writer's hostility; ムカつく in the same text is."""
    from bot.emotion.japanese import mlask_emotions

    assert mlask_emotions("上司に怒られてばかり").categories == {"aware": 1}
    assert mlask_emotions("父に叱られた").categories == {"aware": 1}
    mixed = mlask_emotions("上司に怒られてムカついた。あいつ絶対許さない、腹が立つ").categories
    assert mixed["aware"] == 1 and mixed["ikari"] >= 2
    assert mlask_emotions("あいつに本当に怒ってる").categories == {"ikari": 1}
