"""The shipped bank, policy, phrases, LLM prompts and personas validate; broken ones are refused
with a message that says what is wrong."""

from __future__ import annotations

import copy
import re
import shutil
from pathlib import Path

import pytest
import yaml

from bot.assessment.bank import load_bank, load_banks
from bot.assessment.llm_refiner import load_llm_prompts
from bot.assessment.persona_eval import load_personas
from bot.assessment.phrases import load_phrases
from bot.assessment.policy import load_policy
from bot.config import PROJECT_ROOT
from bot.domain import EMOTIONS, Language

PROMPTS = PROJECT_ROOT / "prompts"
POLICIES = PROJECT_ROOT / "policies"


def test_shipped_banks_cover_everything_and_share_ids() -> None:
    banks = load_banks(PROMPTS)
    assert set(banks) == set(Language)
    en, ja = banks[Language.EN], banks[Language.JA]
    assert en.option_ids() == ja.option_ids()
    for bank in banks.values():
        assert len(set(bank.ids())) == len(bank.ids())
        for question in bank.questions:
            for option in question.options:
                if question.kind == "emotion":
                    assert option.likelihood is not None
                    assert set(option.likelihood) == {e.value for e in EMOTIONS}
                # Room for a conversation prefix in Telegram's 64-byte callback_data.
                assert len(question.full_option_id(option.id).encode()) <= 40
    # Every emotion is the most likely reader of some option: each can be found.
    favoured = {
        EMOTIONS[int(q.matrix[i].argmax())]
        for q in en.questions
        if q.kind == "emotion"
        for i in range(len(q.options))
    }
    assert len(favoured) >= 12


def write_bank(tmp_path: Path, lang: str, data: dict) -> Path:
    (tmp_path / lang).mkdir(parents=True, exist_ok=True)
    (tmp_path / lang / "questions.yaml").write_text(yaml.safe_dump(data, allow_unicode=True))
    return tmp_path


@pytest.fixture
def en_data() -> dict:
    return yaml.safe_load((PROMPTS / "en" / "questions.yaml").read_text(encoding="utf-8"))


def test_missing_emotion_in_a_likelihood_is_refused(tmp_path: Path, en_data: dict) -> None:
    del en_data["questions"][0]["options"][0]["likelihood"]["hatred"]
    with pytest.raises(ValueError, match=r"missing \['hatred'\]"):
        load_bank(write_bank(tmp_path, "en", en_data), "en")


def test_likelihoods_that_do_not_sum_to_one_are_refused(tmp_path: Path, en_data: dict) -> None:
    en_data["questions"][0]["options"][0]["likelihood"]["regret"] = 0.9
    with pytest.raises(ValueError, match="should sum to 1"):
        load_bank(write_bank(tmp_path, "en", en_data), "en")


def test_duplicate_ids_are_refused(tmp_path: Path, en_data: dict) -> None:
    twice = copy.deepcopy(en_data)
    twice["questions"].append(copy.deepcopy(en_data["questions"][0]))
    with pytest.raises(ValueError, match="question ids are not unique"):
        load_bank(write_bank(tmp_path, "en", twice), "en")
    options = en_data["questions"][0]["options"]
    options[1]["id"] = options[0]["id"]
    with pytest.raises(ValueError, match="option ids are not unique"):
        load_bank(write_bank(tmp_path / "b", "en", en_data), "en")


def test_languages_must_share_question_ids(tmp_path: Path, en_data: dict) -> None:
    ja_data = yaml.safe_load((PROMPTS / "ja" / "questions.yaml").read_text(encoding="utf-8"))
    ja_data["questions"][0]["id"] = "renamed"
    write_bank(tmp_path, "en", en_data)
    write_bank(tmp_path, "ja", ja_data)
    with pytest.raises(ValueError, match="ids differ"):
        load_banks(tmp_path, ("en", "ja"))  # banks alone, not whole language packs


def test_long_ids_are_refused(tmp_path: Path, en_data: dict) -> None:
    en_data["questions"][0]["id"] = "a_question_id_far_too_long_for_callback_data"
    with pytest.raises(ValueError, match="must match"):
        load_bank(write_bank(tmp_path, "en", en_data), "en")


def test_policy_loads_and_refuses_nonsense(tmp_path: Path) -> None:
    policy = load_policy(POLICIES)
    assert 1 / 16 < policy.emotion.stop_threshold <= 1
    data = yaml.safe_load((POLICIES / "assessment.yaml").read_text())
    data["emotion"]["min_questions"] = data["emotion"]["max_questions"] + 1
    (tmp_path / "assessment.yaml").write_text(yaml.safe_dump(data))
    with pytest.raises(ValueError, match="min_questions must not exceed"):
        load_policy(tmp_path)
    data = yaml.safe_load((POLICIES / "assessment.yaml").read_text())
    data["emotion"]["typo_field"] = 1
    (tmp_path / "assessment.yaml").write_text(yaml.safe_dump(data))
    with pytest.raises(ValueError, match="typo_field"):
        load_policy(tmp_path)


CLINICAL = re.compile(r"diagnos|disorder|depress|illness|patient|うつ|鬱|障害|診断|病", re.I)


@pytest.mark.parametrize("language", list(Language))
def test_phrases_are_kind_and_never_clinical(language: Language) -> None:
    phrases = load_phrases(PROMPTS, language)
    texts = [phrases.intro, phrases.uncertain, *phrases.reflections.values(), *phrases.mood_lines]
    bank = load_bank(PROMPTS, language)
    texts += [q.text for q in bank.questions] + [o.label for q in bank.questions for o in q.options]
    for text in texts:
        assert not CLINICAL.search(text), text
        for word in ("vulnerable", "harmful", "potential_healing", "mood level"):
            assert word not in text.lower()


@pytest.mark.parametrize("language", list(Language))
def test_llm_prompts_keep_the_persons_text_inside_its_delimiters(language: Language) -> None:
    prompts = load_llm_prompts(PROMPTS, language)
    user = prompts.read.user
    assert user.count("{text}") == 1
    assert user.index("<person_text>") < user.index("{text}") < user.index("</person_text>")
    assert "{text}" not in prompts.read.system + prompts.rewrite.system + prompts.rewrite.user
    assert "person_text" in prompts.read.system  # the rule about the delimiters is stated


def test_personas_cover_all_emotions_in_both_languages() -> None:
    personas = load_personas(PROJECT_ROOT / "evals" / "assessment_personas.yaml")
    assert len(personas) >= 32
    assert len({p.id for p in personas}) == len(personas)
    for language in Language:
        assert {p.emotion for p in personas if p.language == language} == set(EMOTIONS)
    assert any(p.says for p in personas)


def test_policies_check_covers_the_assessment_files(tmp_path: Path) -> None:
    from bot.config import Settings
    from bot.policies import check_all, checked_files

    settings = Settings(_env_file=None)
    schemas = dict(checked_files(settings))
    assert "QuestionBank" in schemas["prompts/ja/questions.yaml"]
    assert "AssessmentPolicy" in schemas["policies/assessment.yaml"]
    assert "LlmPrompts" in schemas["prompts/en/assessment_llm.yaml"]
    assert not [p for p in check_all(settings) if "assessment" in str(p) or "questions" in str(p)]

    # A Japanese bank with a renamed question is caught by the cross-file check.
    prompts = tmp_path / "prompts"
    shutil.copytree(PROMPTS, prompts)  # whole language packs (docs/languages.md)
    bank = prompts / "ja" / "questions.yaml"
    bank.write_text(bank.read_text("utf-8").replace("id: lately", "id: recently", 1), "utf-8")
    broken = Settings(_env_file=None, NEEDTOTALK_PROMPTS_DIR=prompts)
    problems = [str(p) for p in check_all(broken)]
    assert any("ids differ" in p for p in problems)
