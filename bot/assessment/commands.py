"""`needtotalk eval assessment`: scripted personas through the real assessment engine."""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from typing import Any

from bot.config import PROJECT_ROOT, Settings
from bot.languages import languages

DEFAULT_PERSONAS = PROJECT_ROOT / "evals" / "assessment_personas.yaml"


def register_eval(eval_subparsers: Any) -> None:
    parser = eval_subparsers.add_parser(
        "assessment",
        help="play scripted personas through the pre-assessment; print accuracy and questions",
        description=(
            "Plays each persona in the personas file (hidden dominant emotion and mood level; "
            "taps options drawn from the bank's likelihoods, or writes scripted text) through "
            "the real engine, and prints user-class accuracy, emotion accuracy, mood accuracy "
            "and the mean number of questions to a decision, with the target check "
            "(right user class in <= 5 questions on average). Uses the LLM only if one is "
            "configured and --offline is not given."
        ),
    )
    parser.add_argument(
        "--personas",
        type=argparse.FileType("rb"),
        default=None,
        help=f"personas YAML (default: {DEFAULT_PERSONAS})",
    )
    parser.add_argument(
        "--repeats", type=int, default=5, help="seeded runs per persona (default 5)"
    )
    parser.add_argument("--language", choices=languages(), help="only personas in this language")
    parser.add_argument(
        "--offline",
        action="store_true",
        help="never call the LLM, even if OPENAI_API_KEY/OPENAI_BASE_URL is set",
    )
    parser.add_argument(
        "--no-text-model",
        action="store_true",
        help="read personas' free text as no evidence instead of loading the emotion engine "
        "(quick smoke runs; text personas then cost a question)",
    )
    parser.add_argument("--verbose", action="store_true", help="one line per persona run")
    parser.add_argument(
        "--check", action="store_true", help="exit 1 if the target is missed (for CI)"
    )
    parser.set_defaults(handler=run_assessment_eval)


def run_assessment_eval(args: argparse.Namespace, settings: Settings) -> int:
    from bot.assessment.loading import NoTextEvidence, load_engine
    from bot.assessment.persona_eval import load_personas, run_personas

    path = args.personas.name if args.personas else DEFAULT_PERSONAS
    if args.personas:
        args.personas.close()
    if args.repeats < 1:
        print("needtotalk eval assessment: --repeats must be at least 1", file=sys.stderr)
        return 2
    try:
        personas = load_personas(path)
        engine = load_engine(
            settings,
            evidence_reader=NoTextEvidence() if args.no_text_model else None,
            use_llm=False if args.offline else None,
        )
    except ValueError as exc:
        print(f"needtotalk eval assessment: {exc}", file=sys.stderr)
        return 2
    if args.language:
        personas = [p for p in personas if p.language == args.language]
    mode = "with LLM refiner" if engine.refiner is not None else "offline"
    print(f"playing {len(personas)} personas x {args.repeats} runs ({mode})...", file=sys.stderr)
    report = run_personas(engine, personas, repeats=args.repeats)
    if args.verbose:
        for o in report.outcomes:
            mark = "ok " if o.class_right else "MISS"
            print(
                f"{mark} {o.persona_id:32} found {o.found or '-':20} mood "
                f"{'-' if o.found_mood is None else int(o.found_mood)}/"
                f"{int(o.mood_level)} q {o.questions_to_decision}/{o.questions_total}"
            )
    emotions = len({o.emotion for o in report.outcomes})
    languages = Counter(str(o.language) for o in report.outcomes)
    print(f"emotions covered: {emotions}/16, runs by language: {dict(languages)}")
    for line in report.lines():
        print(line)
    return 1 if args.check and not report.meets_target else 0
