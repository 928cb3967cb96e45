from bot.domain import EMOTION_CLASS, EMOTIONS, Emotion, UserClass


def test_sixteen_emotions_four_per_class() -> None:
    assert len(EMOTIONS) == 16
    for user_class in UserClass:
        assert sum(1 for c in EMOTION_CLASS.values() if c is user_class) == 4


def test_emotion_knows_its_class() -> None:
    assert Emotion.SELF_DOUBT.user_class is UserClass.VULNERABLE
    assert Emotion.EMPATHY.user_class is UserClass.POTENTIAL_HEALING
    assert not UserClass.HARMFUL.feels_good


def test_author_names_is_one_type_under_both_imports() -> None:
    from bot.domain import AuthorNames, Inbound, InboundKind
    from bot.moderation.decision import AuthorNames as FromModeration

    assert FromModeration is AuthorNames
    assert Inbound("1", InboundKind.TEXT, "hi").author_names is None
