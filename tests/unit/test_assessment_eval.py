"""`needtotalk eval assessment` and the persona player behind it."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.assessment.loading import NoTextEvidence, load_engine
from bot.assessment.persona_eval import load_personas, play, run_personas
from bot.cli import main
from bot.config import PROJECT_ROOT, Settings
from bot.domain import EmotionReading, Language

PERSONAS = PROJECT_ROOT / "evals" / "assessment_personas.yaml"


class RecordingReader(NoTextEvidence):
    def __init__(self) -> None:
        self.texts: list[str] = []

    def read(self, text: str, language: Language | None = None) -> EmotionReading:
        self.texts.append(text)
        return super().read(text, language)


@pytest.fixture(scope="module")
def engine_and_reader():
    reader = RecordingReader()
    return load_engine(Settings(_env_file=None), evidence_reader=reader, use_llm=False), reader


def test_personas_find_their_user_class_in_few_questions(engine_and_reader) -> None:
    engine, _ = engine_and_reader
    report = run_personas(engine, load_personas(PERSONAS), repeats=2)
    assert len(report.outcomes) == 2 * len(load_personas(PERSONAS))
    # A regression guard, looser than the benchmark's target (benchmarks/assessment.py): even
    # with free text read as no evidence at all, most personas land in their class quickly.
    assert report.class_accuracy >= 0.85
    assert report.mean_questions <= 5.5
    assert all(o.questions_to_decision <= o.questions_total for o in report.outcomes)
    # Better than guessing, by far: chance is 0.25 for a class and 1/16 for an emotion.
    assert report.emotion_accuracy >= 0.5


def test_personas_are_seeded_and_their_scripted_text_is_read(engine_and_reader) -> None:
    engine, reader = engine_and_reader
    persona = next(p for p in load_personas(PERSONAS) if p.says)
    reader.texts.clear()
    first, again = play(engine, persona, run=3), play(engine, persona, run=3)
    assert first == again
    assert reader.texts == [persona.says[0], persona.says[0]]


def test_cli_prints_the_figures_and_the_target(capsys: pytest.CaptureFixture[str]) -> None:
    # --no-text-model keeps this test quick; the benchmark runs the emotion engine.
    argv = ["eval", "assessment", "--offline", "--no-text-model", "--repeats", "1"]
    code = main([*argv, "--language", "ja"])
    out = capsys.readouterr().out
    assert code == 0
    for line in (
        "class accuracy:",
        "emotion accuracy:",
        "mean questions to a decision",
        "target (class accuracy",
    ):
        assert line in out
    assert "runs by language: {'ja': 28}" in out
    assert "questions asked per run, all personas: median" in out
    assert "typed answers acknowledged:" in out


def test_cli_errors_are_clear(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["eval"]) == 2
    assert "assessment" in capsys.readouterr().out
    broken = tmp_path / "personas.yaml"
    broken.write_text("personas:\n  - id: x\n    language: fr\n")
    assert main(["eval", "assessment", "--offline", "--personas", str(broken)]) == 2
    assert "personas.yaml" in capsys.readouterr().err
