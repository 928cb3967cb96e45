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
