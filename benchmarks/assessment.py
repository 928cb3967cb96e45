"""Pre-assessment benchmark: questions to a decision, against a baseline run in the same process.

Plays the scripted personas (evals/assessment_personas.yaml) through the real engine, offline,
and prints user-class / emotion / mood accuracy and the mean number of emotion questions to a
decision, then the same for a baseline that asks the bank's questions in file order (same
stopping rule, same personas and seeds), and the ratio. The issue's target: the right user
class in <= 5 questions on average.

    PYTHONPATH=. python benchmarks/assessment.py [--repeats 10]
"""

from __future__ import annotations

import argparse
import sys
import time

from bot.assessment.bank import Question, QuestionKind
from bot.assessment.engine import AssessmentEngine
from bot.assessment.loading import load_engine
from bot.assessment.persona_eval import Report, load_personas, run_personas
from bot.assessment.state import AssessmentState
from bot.config import PROJECT_ROOT, Settings


class BankOrderEngine(AssessmentEngine):
    """Baseline: the next unasked question in file order, no information gain."""

    def next_question(self, state: AssessmentState) -> Question | None:
        if state.finished:
            return None
        kind = QuestionKind.MOOD if state.emotion_decided else QuestionKind.EMOTION
        bank = self.banks[state.language]
        return next((q for q in bank.questions if q.kind is kind and q.id not in state.asked), None)


def timed(engine: AssessmentEngine, repeats: int) -> tuple[Report, float]:
    personas = load_personas(PROJECT_ROOT / "evals" / "assessment_personas.yaml")
    began = time.perf_counter()
    report = run_personas(engine, personas, repeats=repeats)
    return report, time.perf_counter() - began


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=10, help="seeded runs per persona")
    args = parser.parse_args()
    settings = Settings()
    engine = load_engine(settings, use_llm=False)
    baseline = BankOrderEngine(
        engine.banks, engine.policy, engine.evidence_reader, phrases=engine.phrases
    )
    print("running information-gain policy...", file=sys.stderr)
    report, seconds = timed(engine, args.repeats)
    print("running bank-order baseline...", file=sys.stderr)
    base, base_seconds = timed(baseline, args.repeats)
    runs = len(report.outcomes)
    print("== information-gain policy (offline) ==")
    print("\n".join(report.lines()))
    print(f"engine time per assessment: {1000 * seconds / runs:.2f} ms")
    print("== baseline: bank order, same stopping rule ==")
    print("\n".join(base.lines()[1:-1]))
    print(f"engine time per assessment: {1000 * base_seconds / runs:.2f} ms")
    print(
        f"questions to a decision, policy / baseline: {report.mean_questions:.2f} / "
        f"{base.mean_questions:.2f} = {report.mean_questions / base.mean_questions:.2f}x"
    )
    print(f"class accuracy, policy - baseline: {report.class_accuracy - base.class_accuracy:+.3f}")
    print(f"TARGET {'PASS' if report.meets_target else 'MISS'}")
    return 0 if report.meets_target else 1


if __name__ == "__main__":
    raise SystemExit(main())
