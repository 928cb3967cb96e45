"""Crisis screen figures against issue 10's targets. Printed, never asserted.

    PYTHONPATH=$PWD python benchmarks/crisis.py [--dev [--show-misses] [--dump FILE]]
        [--holdout-v7] [--timing-texts N]

Three screens on each set: the rules alone, the classifier alone (its probability at the policy
threshold) and both (a crisis when either says so, as the bot runs).

- the DEVELOPMENT set tests/data/crisis_holdout.yaml (EN/JA). It was the held-out set of the
  first classifier and was read six times for it; it is now demoted to a development set: read
  it freely (--dev; --show-misses prints the lines missed and the false alarms) to find failure
  modes, but never copy or paraphrase its lines into policies/crisis_examples.yaml. Its figures
  are no longer an honest estimate of unseen text.
- the set v2, tests/data/crisis_holdout_v2.yaml (same layout), written by someone else: it was
  the held-out set, read once (recorded in docs/crisis.md), and is now demoted to a second
  development set (--dev reads both, as "dev" and "dev-v2"): studied, never copied or
  paraphrased into the examples.
- the set v3, tests/data/crisis_holdout_v3.yaml (same layout), written by someone else: the
  held-out set of the third classifier, read once by the lead (docs/crisis.md), and demoted to a
  third development set for the fourth round (--dev reads it as "dev-v3").
  Targets: recall 1.0; false alarms <= 3 % on everyday messages (idioms and recovery stories
  reported beside them).
- the set v4, tests/data/crisis_holdout_v4.yaml (same layout), written by someone else on
  2026-12-02: the held-out set of the fourth round, read once by the lead (docs/crisis.md), and
  demoted to a fourth development set for the fifth round (--dev reads it as "dev-v4").
- the set v5, tests/data/crisis_holdout_v5.yaml (same layout), written by someone else: the
  held-out set of the fifth round, read once by the lead (docs/crisis.md), and demoted to a fifth
  development set for the sixth round (--dev reads it as "dev-v5").
- the set v6, tests/data/crisis_holdout_v6.yaml (same layout), written by someone else: the
  held-out set of the sixth round, read twice by the lead (docs/crisis.md), and demoted to a
  sixth development set for the seventh round (--dev reads it as "dev-v6").
- the HELD-OUT set v7, tests/data/crisis_holdout_v7.yaml (same layout), written by someone else
  and committed before any model read it: read only with --holdout-v7, which prints its figures
  and never its lines (--show-misses and --dump never cover it). Each run with it is a read:
  record it in docs/crisis.md. DEV_SETS never names it.
- the existing test cases (tests/unit/test_crisis_screen.py must-catch / must-not-catch lists;
  they are also training examples of the classifier, so its figures there are in-sample), the 90
  evasion variants (tests/unit/test_crisis_evasion.py) and the unspoken-language phrases
  (tests/unit/test_crisis_languages.py).
- time per message after load, one CPU thread (torch and BLAS), the whole screen as the bot
  runs it (rules + classifier, one MiniLM embedding per message): target <= 10 ms. Wall time and
  the process's CPU time are both printed: on a shared, loaded machine wall time counts the
  waits for a core too, CPU time is the cost on one core. The load average is printed beside.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

Judge = Callable[[str], bool]
# The demoted held-out sets, read freely as development sets (see the docstring). Never a v7.
DEV_SETS = (
    ("dev", "crisis_holdout.yaml"),
    ("dev-v2", "crisis_holdout_v2.yaml"),
    ("dev-v3", "crisis_holdout_v3.yaml"),
    ("dev-v4", "crisis_holdout_v4.yaml"),
    ("dev-v5", "crisis_holdout_v5.yaml"),
    ("dev-v6", "crisis_holdout_v6.yaml"),
)
assert not any("_v7" in name for _, name in DEV_SETS), "a v7 set is the lead's to read"
HOLDOUT_V7 = ("HELD-OUT v7", "crisis_holdout_v7.yaml")  # --holdout-v7 only


def rate(judge: Judge, texts: Sequence[str]) -> tuple[int, int]:
    return sum(1 for t in texts if judge(t)), len(texts)


def fmt(hit: int, total: int) -> str:
    return f"{hit / total:6.3f} ({hit}/{total})" if total else "   -"


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument(
        "--dev",
        action="store_true",
        help="also read the development sets (the demoted v1-v6 held-out sets)",
    )
    parser.add_argument(
        "--show-misses",
        action="store_true",
        help="with --dev: print the development lines missed and the false alarms",
    )
    parser.add_argument(
        "--threshold",
        action="append",
        default=[],
        metavar="LANG=P",
        help="what if: the classifier threshold of one model (en, ja) for this run only, "
        "instead of policies/safety.yaml's (e.g. ja=0.4, the out-of-fold Youden threshold)",
    )
    parser.add_argument(
        "--holdout-v7",
        action="store_true",
        help="also read the HELD-OUT set v7 (figures only; each run is a read: record it in "
        "docs/crisis.md)",
    )
    parser.add_argument(
        "--dump",
        type=Path,
        metavar="FILE",
        help="with --dev: write each development line's reading (set, label, both layers' "
        "verdicts, probability) as JSON lines, to compare two versions line by line",
    )
    parser.add_argument(
        "--goemotions",
        type=Path,
        metavar="DIR",
        help="with --hate-offensive: also read the REPORT part of the real everyday texts "
        "(bot/safety/real_texts.py: comments and tweets by many writers, never trained on, "
        "never used to choose anything) and print the many-writer false-alarm figure",
    )
    parser.add_argument("--hate-offensive", type=Path, metavar="DIR")
    parser.add_argument(
        "--show-real-alarms",
        action="store_true",
        help="with --goemotions: print the REPORT texts flagged (for the hand review, "
        "policies/crisis_real_texts.yaml)",
    )
    parser.add_argument("--timing-texts", type=int, default=300)
    args = parser.parse_args()
    if (args.show_misses or args.dump) and not args.dev:
        parser.error("--show-misses and --dump need --dev")
    if bool(args.goemotions) != bool(args.hate_offensive):
        parser.error("--goemotions and --hate-offensive go together")

    import torch
    from threadpoolctl import threadpool_limits

    torch.set_num_threads(1)
    threadpool_limits(1)
    from bot.emotion.embeddings import embed

    embed(["warm-up"])  # the bot loads the model at start (bot/services.py), before the screen
    started = time.perf_counter()
    from bot.safety.classifier import load_crisis_classifier
    from bot.safety.crisis_screen import CrisisScreen, load_safety_policy

    policy = load_safety_policy()
    for item in args.threshold:
        language, _, value = item.partition("=")
        policy.classifier.by_language[language] = float(value)
    classifier = load_crisis_classifier()
    screen = CrisisScreen(policy, classifier)
    load_ms = (time.perf_counter() - started) * 1000
    if classifier is None:
        print("no classifier artefact: run `needtotalk train crisis-classifier`")
        return 1
    threshold = policy.classifier.threshold

    def rules(text: str) -> bool:
        return screen.rules_only(text).is_crisis

    def model(text: str) -> bool:
        result = screen.screen(text)
        if result.probability is None or result.model is None:
            return False
        return result.probability >= policy.classifier.threshold_for(result.model)

    def both(text: str) -> bool:
        return screen.screen(text).is_crisis

    judges: list[tuple[str, Judge]] = [("rules", rules), ("classifier", model), ("both", both)]

    sets: list[tuple[str, bool, Sequence[str]]] = []  # name, is crisis, texts
    from tests.unit import test_crisis_evasion as evasion
    from tests.unit import test_crisis_languages as languages
    from tests.unit import test_crisis_screen as existing

    must_catch = [
        *(t for t, _ in existing.CRISIS),
        *existing.FOUND_IN_REVIEW,
        *existing.REVIEW_2_MUST_CATCH,
        *(t for t, _ in existing.REVIEW_3_MUST_CATCH),
    ]
    must_not = [
        t
        for t in (
            existing.NOT_CRISIS
            + existing.NOT_INSIDE_ENGLISH_WORDS
            + existing.REVIEW_2_MUST_NOT_CATCH
            + existing.REVIEW_3_MUST_NOT_CATCH
        )
        if t
    ]
    summaries: list[tuple[str, list[str], list[str]]] = []  # name, crisis lines, everyday
    labelled_sets: list[tuple[str, str]] = []
    if args.dev:
        labelled_sets += list(DEV_SETS)
    if args.holdout_v7:
        labelled_sets.append(HOLDOUT_V7)
    for prefix, filename in labelled_sets:
        from bot.yaml_files import read_yaml

        data = read_yaml(ROOT / "tests" / "data" / filename)
        crisis_lines: list[str] = []
        everyday: list[str] = []
        for lang in ("en", "ja"):
            crisis_lines += data["crisis"][lang]
            sets.append((f"{prefix} crisis {lang}", True, data["crisis"][lang]))
        for group in ("everyday", "idioms", "recovery"):
            for lang in ("en", "ja"):
                texts = data["not_crisis"][lang].get(group, [])
                if group == "everyday":
                    everyday += texts
                sets.append((f"{prefix} {group} {lang}", False, texts))
        summaries.append((prefix, crisis_lines, everyday))
    real_ids: list[str] = []
    if args.goemotions:
        from bot.safety.real_texts import read_real_texts

        report = read_real_texts(args.goemotions, args.hate_offensive)["report"]
        real_ids = report.ids
        sets.append(("real everyday, many writers (report)", False, report.texts))
        summaries.append(("real (report)", [], report.texts))
    sets += [
        ("existing must-catch (in training)", True, must_catch),
        ("existing must-not-catch (in training)", False, must_not),
        ("evasion variants (90)", True, evasion.ALL_VARIANTS),
        ("unspoken-language crises", True, [t for t, _ in languages.UNSPOKEN_CRISES]),
        ("unspoken-language everyday", False, languages.UNSPOKEN_EVERYDAY),
    ]

    print(
        f"classifier threshold {threshold} (by language {policy.classifier.by_language}); "
        f"load of policy + artefact {load_ms:.0f} ms"
    )
    print(f"{'set':40} {'measure':12} " + " ".join(f"{name:>17}" for name, _ in judges))
    for name, is_crisis, texts in sets:
        measure = "recall" if is_crisis else "false alarms"
        cells = [fmt(*rate(judge, texts)) for _, judge in judges]
        print(f"{name:40} {measure:12} " + " ".join(f"{c:>17}" for c in cells))
    for prefix, crisis_lines, everyday in summaries:
        if not crisis_lines:
            continue
        for label, texts, target in (
            (f"{prefix} crisis, all", crisis_lines, "recall 1.0"),
            (f"{prefix} everyday, all", everyday, "false alarms <= 0.03"),
        ):
            cells = [fmt(*rate(judge, texts)) for _, judge in judges]
            print(f"{label:40} {target:12} " + " ".join(f"{c:>17}" for c in cells))
    if args.show_misses:
        print("\ndevelopment sets, both layers: missed crisis lines and false alarms")
        for name, is_crisis, texts in sets:
            if not name.startswith("dev"):
                continue
            for text in texts:
                result = screen.screen(text)
                if result.is_crisis != is_crisis:
                    kind = "MISSED" if is_crisis else "ALARM "
                    p = "-" if result.probability is None else f"{result.probability:.2f}"
                    layers = "+".join(result.layers) or "-"
                    cats = ",".join(result.categories) or "-"
                    print(
                        f"  {kind} [{name}] p={p} rules={result.score:.2f} by={layers} "
                        f"({cats}): {text}"
                    )

    if args.dump:
        import json

        with args.dump.open("w", encoding="utf-8") as out:
            for name, is_crisis, texts in sets:
                if not name.startswith("dev"):
                    continue
                for text in texts:
                    result = screen.screen(text)
                    row = {
                        "set": name,
                        "crisis": is_crisis,
                        "flagged": result.is_crisis,
                        "rules": rules(text),
                        "layers": list(result.layers),
                        "p": result.probability,
                        "text": text,
                    }
                    out.write(json.dumps(row, ensure_ascii=False) + "\n")

    if args.show_real_alarms and real_ids:
        print("\nreal everyday texts (report part), both layers: flagged")
        report_set = next(texts for name, _, texts in sets if name.startswith("real everyday"))
        for ident, text in zip(real_ids, report_set, strict=True):
            result = screen.screen(text)
            if result.is_crisis:
                layers = "+".join(result.layers)
                print(f"  ALARM {ident} p={result.probability:.2f} by={layers}: {text!r}")

    if args.timing_texts <= 0:
        return 0
    # Time per message, after load, one thread: the bot's screen on a mix of messages.
    pool = [*must_catch, *must_not, *evasion.ALL_VARIANTS]
    texts = [pool[i % len(pool)] for i in range(args.timing_texts)]
    for _ in range(20):
        screen.screen(texts[0])
    from bot.emotion.embeddings import clear_embedding_cache

    # Uncached: the screen keeps a small cache of recent embeddings (a text screened twice is
    # embedded once), and the pool repeats; every timed message is a new one to it.
    timings = {"rules alone": screen.rules_only, "rules + classifier": screen.screen}
    for label, run in timings.items():
        wall: list[float] = []
        cpu: list[float] = []
        for text in texts:
            clear_embedding_cache()
            c0, t0 = time.process_time(), time.perf_counter()
            run(text)
            wall.append((time.perf_counter() - t0) * 1000)
            cpu.append((time.process_time() - c0) * 1000)
        wall.sort()
        print(
            f"time per message, {label:20} wall: median {statistics.median(wall):6.2f} ms, "
            f"p95 {wall[int(0.95 * len(wall)) - 1]:6.2f} ms; CPU: median "
            f"{statistics.median(cpu):6.2f} ms, mean {statistics.fmean(cpu):6.2f} ms "
            f"({len(wall)} messages, one thread; target <= 10 ms)"
        )
    load = os.getloadavg()[0]
    print(f"load average during the run: {load:.1f} on {os.cpu_count()} cores (wall time inflates)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
