"""Moderation figures against the targets of the safe-relay issue. Printed, never asserted.

    PYTHONPATH=$PWD python benchmarks/moderation.py [--show-misses] --hate-offensive DIR
    PYTHONPATH=$PWD python benchmarks/moderation.py --cards v2 [--show-misses]
    PYTHONPATH=$PWD python benchmarks/moderation.py --cards v3 [--show-misses]
    PYTHONPATH=$PWD python benchmarks/moderation.py --cards v4 [--show-misses]
    PYTHONPATH=$PWD python benchmarks/moderation.py --cards v5 [--show-misses] [--causes]
    PYTHONPATH=$PWD python benchmarks/moderation.py --cards v6 [--show-misses] [--causes] [--dump F]

Sets, each through the same `Moderator` that /share uses (first-time author):
- the DEVELOPMENT card set benchmarks/data/moderation_cards.yaml (160 EN/JA cards). It was the
  held-out set of the first model and was read twice for it; it is now demoted to a development
  set: read by default, free to study (--show-misses prints the cards decided wrongly), but its
  cards are never copied or paraphrased into bot/moderation/examples.yaml, and its figures are
  no longer an honest estimate of unseen cards;
- the card set v2, benchmarks/data/moderation_cards_v2.yaml (same layout), written by someone
  else: it was the held-out set, read once (recorded in docs/moderation.md), and is now demoted
  to a second development set like the first (--cards v2): studied, never copied or paraphrased
  into training examples;
- the card set v3, benchmarks/data/moderation_cards_v3.yaml (same layout), written by someone
  else: the held-out set of the third round, read once by the lead (docs/moderation.md), and
  demoted to a third development set for the fourth round (--cards v3);
- the card set v4, benchmarks/data/moderation_cards_v4.yaml (same layout), written by someone
  else on 2026-12-02: the held-out set of the fourth round, read once by the lead
  (docs/moderation.md), and demoted to a fourth development set for the fifth round (--cards v4);
- the card set v5, benchmarks/data/moderation_cards_v5.yaml (same layout), written by someone
  else: the held-out set of the fifth round, read twice by the lead (docs/moderation.md), and
  demoted to a fifth development set for the sixth round (--cards v5);
- the card set v6, benchmarks/data/moderation_cards_v6.yaml (same layout), written by someone
  else: the held-out set of the sixth round, read twice by the lead (docs/moderation.md), and
  demoted to a sixth development set for the seventh round (--cards v6);
- the HELD-OUT card set v7 (benchmarks/data/moderation_cards_v7.yaml, written by someone else):
  read only with --cards holdout-v7, which prints figures and never its cards (no --show-misses,
  no --causes, no --dump). Each run is a read: record it in docs/moderation.md.
- the test tenth of the Davidson et al. 2017 tweets (split seeded 80/10/10 by
  bot/moderation/training.py; never trained or tuned on). Known limits, printed with the
  figures: tweets, mostly slurs and profanity, English only; models trained on them flag
  African-American English as abusive far more often (Davidson et al. 2019); profanity alone is
  not toxicity in a peer-support card.

Targets: harmful or sad cards that could reach a vulnerable reader 0 (a `publish` counts: staged
exposure may later widen it); supportive cards held <= 10 %; time per card after load <= 20 ms
on one core (torch and BLAS on one thread). Toxic and crisis recall and precision, and
precision/recall per class, are reported without a target.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

CARD_SETS = {  # v1 to v6: demoted to development sets (see the docstring); never a v7
    "v1": ROOT / "benchmarks" / "data" / "moderation_cards.yaml",
    "v2": ROOT / "benchmarks" / "data" / "moderation_cards_v2.yaml",
    "v3": ROOT / "benchmarks" / "data" / "moderation_cards_v3.yaml",
    "v4": ROOT / "benchmarks" / "data" / "moderation_cards_v4.yaml",
    "v5": ROOT / "benchmarks" / "data" / "moderation_cards_v5.yaml",
    "v6": ROOT / "benchmarks" / "data" / "moderation_cards_v6.yaml",
}
assert not any("_v7" in path.name for path in CARD_SETS.values()), "a v7 set is the lead's"
HOLDOUT_V7 = ROOT / "benchmarks" / "data" / "moderation_cards_v7.yaml"  # --cards holdout-v7
LABELS = ("toxic", "crisis", "vulnerable", "supportive", "entertaining")
HARMFUL_OR_SAD = ("toxic", "crisis", "vulnerable")
DAVIDSON_NAMES = ("hate", "offensive", "neither")


def predicted_label(decision: object) -> str:
    """The card set's label the decision amounts to."""
    crisis = decision.crisis
    content = decision.content_class.value
    if crisis:
        return "crisis"
    return {"inspirational": "supportive"}.get(content, content)


def pr_table(truth: list[str], predicted: list[str], names: tuple[str, ...]) -> list[str]:
    lines = [f"    {'class':13} {'precision':>9} {'recall':>7} {'support':>8}"]
    for name in names:
        tp = sum(t == name and p == name for t, p in zip(truth, predicted, strict=True))
        fp = sum(t != name and p == name for t, p in zip(truth, predicted, strict=True))
        support = sum(t == name for t in truth)
        precision = tp / (tp + fp) if tp + fp else float("nan")
        recall = tp / support if support else float("nan")
        lines.append(f"    {name:13} {precision:9.3f} {recall:7.3f} {support:8d}")
    return lines


CAUSE_ORDER = (
    "crisis screen: rules",
    "crisis screen: classifier alone",
    "crisis screen: classifier unsure (restricts)",
    "crisis screen: missed",
    "moderation model crisis + screen classifier",
    "moderation model crisis alone (restricts)",
    "toxicity model",
    "toxicity model: Japanese band (restricts)",
    "content rules (policies/content.yaml)",
    "content model: bad classes",
    "content model: not confidently good",
    "threshold: publish confidence (restricts)",
    "crisis classifier: not fairly sure it is no crisis (restricts)",
    "emotion reading (feels bad)",
    "content model: read as good",
    "readability",
    "scrubbing",
    "failure",
)


def cause_of(card: dict[str, str], decision: Any, moderator: Any) -> tuple[str, str] | None:
    """(kind of error, its cause) for a card decided wrongly, or None.

    Kinds: a supportive card held, a supportive or entertaining card restricted, a harmful or
    sad card published (staged exposure may widen it to readers who feel bad: that is how it
    "could reach" one, never the reason it was published), a toxic card read as another class,
    a crisis card not flagged. The cause is the first step of the pipeline that decided it:
    the crisis screen (rules or classifier), the toxicity side of the moderation model, the
    content rules, the content side of the model and its thresholds, readability, scrubbing.
    """
    from bot.moderation.decision import Verdict

    label, verdict = card["label"], decision.decision
    reasons = " | ".join(decision.reasons)
    if label == "supportive" and verdict is Verdict.HOLD:
        kind = "supportive held"
    elif label in ("supportive", "entertaining") and verdict is Verdict.RESTRICT:
        kind = f"{label} restricted"
    elif label in HARMFUL_OR_SAD and verdict is Verdict.PUBLISH:
        kind = f"{label} published"
    elif label == "toxic" and predicted_label(decision) != "toxic":
        kind = "toxic not read as toxic"
    elif label == "crisis" and not decision.crisis:
        kind = "crisis not flagged"
    else:
        return None
    if "moderation failed" in reasons:
        return kind, "failure"
    if "unreadable" in reasons or "no moderation analyser" in reasons:
        return kind, "readability"
    if decision.crisis:
        if "crisis_in_content" in decision.crisis_categories:
            return kind, "moderation model crisis + screen classifier"
        screened = moderator.screen.screen(decision.scrubbed or card["text"])
        if not screened.is_crisis:  # the author's own words (before scrubbing) were screened
            return kind, "scrubbing"
        if "rules" in screened.layers:
            return kind, "crisis screen: rules"
        return kind, "crisis screen: classifier alone"
    if label == "crisis":  # not flagged: the screen missed it (restricted or published)
        return kind, "crisis screen: missed"
    if verdict is Verdict.PUBLISH:
        return kind, "toxicity model" if label == "toxic" else "content model: read as good"
    if verdict is Verdict.HOLD:
        if "model: toxic" in reasons:
            return kind, "toxicity model"
        return kind, "content rules (policies/content.yaml)"
    # Restricted: the first reason in the classifier's order (toxic band, crisis, bad, feels bad).
    for marker, cause in (
        ("possibly toxic", "toxicity model: Japanese band (restricts)"),
        ("screen classifier", "crisis screen: classifier unsure (restricts)"),
        (
            "possible crisis language (moderation model)",
            "moderation model crisis alone (restricts)",
        ),
        ("model: bad content", "content model: bad classes"),
        (" reading (", "emotion reading (feels bad)"),
        ("negative polarity", "emotion reading (feels bad)"),
        ("not confidently good", "content model: not confidently good"),
        ("not sure enough to publish", "threshold: publish confidence (restricts)"),
        (
            "crisis classifier not sure",
            "crisis classifier: not fairly sure it is no crisis (restricts)",
        ),
        (
            "crisis classifier did not read",
            "crisis classifier: not fairly sure it is no crisis (restricts)",
        ),
        ("no words to read", "readability"),
    ):
        if marker in reasons:
            if kind == "toxic not read as toxic" and marker not in ("possibly toxic",):
                return kind, "toxicity model"  # the toxic reading was below every threshold
            return kind, cause
    return kind, "content model: not confidently good"


def print_causes(rows: list[tuple[str, str, str]]) -> None:
    """The breakdown: for each kind of error, how many from each cause (EN/JA)."""
    print("\ncauses of wrong decisions (kind: cause = count, EN/JA):")
    for kind in sorted({k for _, k, _ in rows}):
        print(f"  {kind}: {sum(1 for _, k, _ in rows if k == kind)}")
        for cause in CAUSE_ORDER:
            en = sum(1 for lang, k, c in rows if k == kind and c == cause and lang == "en")
            ja = sum(1 for lang, k, c in rows if k == kind and c == cause and lang == "ja")
            if en or ja:
                print(f"    {cause:48} {en + ja:3d}  ({en}/{ja})")


def share(numerator: int, denominator: int) -> str:
    return f"{numerator}/{denominator} = {numerator / denominator:.1%}" if denominator else "n/a"


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--hate-offensive", type=Path, help="folder with labeled_data.csv")
    parser.add_argument("--seed", type=int, default=13, help="the training split's seed")
    parser.add_argument(
        "--sample",
        type=int,
        default=None,
        help="a seeded, stratified N of the test tenth (default: all of it, ~2,480 tweets)",
    )
    parser.add_argument(
        "--cards",
        choices=[*sorted(CARD_SETS), "holdout-v7"],
        default="v1",
        help="which card set to read: v1 to v6 (demoted held-out sets, for development) or "
        "holdout-v7 (the held-out set: figures only; each run is a read)",
    )
    parser.add_argument(
        "--dump",
        type=Path,
        default=None,
        help="write every decision (JSON lines, in card order) to this file, to show that a "
        "speed change leaves every decision, score and reason bit for bit the same",
    )
    parser.add_argument(
        "--show-misses", action="store_true", help="print the cards decided wrongly"
    )
    parser.add_argument(
        "--causes",
        action="store_true",
        help="attribute each wrong decision to the pipeline step that made it",
    )
    args = parser.parse_args()
    if args.cards == "holdout-v7":
        if args.show_misses or args.causes or args.dump:
            parser.error(
                "the held-out set is read for figures only: no --show-misses, --causes, --dump"
            )
        cards_path, set_name = HOLDOUT_V7, "HELD-OUT card set v7"
    else:
        cards_path = CARD_SETS[args.cards]
        set_name = f"Development card set {args.cards}"

    started = time.perf_counter()
    import torch

    torch.set_num_threads(1)
    import yaml
    from threadpoolctl import threadpool_limits

    from bot.domain import UserClass
    from bot.moderation.decision import Verdict
    from bot.moderation.pipeline import Moderator

    threadpool_limits(1)  # one core: BLAS on one thread as well as torch
    from bot.emotion.content_class import get_content_classifier

    classifier = get_content_classifier()
    moderator = Moderator(classifier=classifier)
    moderator.moderate("warm up: load every model once", "en")
    print(f"load: {time.perf_counter() - started:.1f} s (imports, MiniLM, heads, model)")

    feeling_bad = {UserClass.VULNERABLE, UserClass.HARMFUL}
    cards = yaml.safe_load(cards_path.read_text("utf-8"))["cards"]
    timings: list[float] = []
    cpu: list[float] = []
    by_lang: dict[str, list[tuple[str, object]]] = {"en": [], "ja": []}
    decided: list[tuple[dict[str, str], Any]] = []
    for card in cards:
        c0, t0 = time.process_time(), time.perf_counter()
        decision = moderator.moderate(card["text"], card["lang"])
        timings.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
        by_lang[card["lang"]].append((card["label"], decision))
        decided.append((card, decision))

    if args.dump:
        import json

        with args.dump.open("w", encoding="utf-8") as out:
            for _, d in decided:
                row = {**d.as_json(), "categories": list(d.crisis_categories)}
                out.write(json.dumps(row, ensure_ascii=False, sort_keys=True) + "\n")
    print(f"\n{set_name} ({len(cards)} cards, {cards_path.name})")
    for lang in ("en", "ja", "all"):
        rows = by_lang["en"] + by_lang["ja"] if lang == "all" else by_lang[lang]
        truth = [label for label, _ in rows]
        predicted = [predicted_label(d) for _, d in rows]
        decisions = [(label, d) for label, d in rows]

        def verdict_is(v: Verdict, labels: tuple[str, ...], pairs: list = decisions) -> int:  # type: ignore[type-arg]
            return sum(1 for label, d in pairs if label in labels and d.decision is v)

        def count(labels: tuple[str, ...], pairs: list = decisions) -> int:  # type: ignore[type-arg]
            return sum(1 for label, _ in pairs if label in labels)

        toxic_tp = sum(
            t == "toxic" and p == "toxic" for t, p in zip(truth, predicted, strict=False)
        )
        toxic_pred = sum(p == "toxic" for p in predicted)
        toxic_held = verdict_is(Verdict.HOLD, ("toxic",))
        crisis_tp = sum(t == "crisis" and d.crisis for t, (_, d) in zip(truth, rows, strict=False))
        crisis_flagged = sum(d.crisis for _, d in rows)
        reach = sum(
            1
            for label, d in rows
            if label in HARMFUL_OR_SAD
            and (d.decision is Verdict.PUBLISH or bool(set(d.readers) & feeling_bad))
        )
        print(f"\n  [{lang}] decisions by label:")
        for label in LABELS:
            n = count((label,))
            if not n:
                continue
            c = Counter(d.decision.value for lab, d in rows if lab == label)
            print(
                f"    {label:13} n={n:3d}  publish {c['publish']:3d}  restrict "
                f"{c['restrict']:3d}  hold {c['hold']:3d}"
            )
        print(f"  toxic recall (content class toxic): {share(toxic_tp, count(('toxic',)))}")
        print(f"  toxic precision: {share(toxic_tp, toxic_pred)}")
        print(f"  toxic cards held (any reason): {share(toxic_held, count(('toxic',)))}")
        print(f"  crisis recall (decision.crisis): {share(crisis_tp, count(('crisis',)))}")
        print(f"  crisis precision: {share(crisis_tp, crisis_flagged)}")
        print(
            "  harmful or sad cards that could reach a vulnerable reader (target 0): "
            f"{share(reach, count(HARMFUL_OR_SAD))}"
        )
        held = verdict_is(Verdict.HOLD, ("supportive",))
        print(f"  supportive cards held (target <= 10 %): {share(held, count(('supportive',)))}")
        restricted = verdict_is(Verdict.RESTRICT, ("supportive", "entertaining"))
        print(
            "  supportive or entertaining cards restricted (reach readers who feel good only): "
            f"{share(restricted, count(('supportive', 'entertaining')))}"
        )
        print(
            "  entertaining cards held: "
            f"{share(verdict_is(Verdict.HOLD, ('entertaining',)), count(('entertaining',)))}"
        )
        print("  per class (predicted: crisis if flagged, else the content class):")
        print("\n".join(pr_table(truth, predicted, LABELS)))

    if args.show_misses:
        print("\ncards decided wrongly (harmful or sad published, supportive held,")
        print("toxic read as another class, crisis not flagged):")
        for card, d in decided:
            label = card["label"]
            wrong = (
                (label in HARMFUL_OR_SAD and d.decision is Verdict.PUBLISH)
                or (label == "supportive" and d.decision is Verdict.HOLD)
                or (label == "toxic" and predicted_label(d) != "toxic")
                or (label == "crisis" and not d.crisis)
            )
            if wrong:
                top = ", ".join(f"{k} {v:.2f}" for k, v in d.scores.items())
                print(
                    f"  [{card['lang']} {label} -> {d.decision.value}/{predicted_label(d)}] "
                    f"{card['text']}\n      {top}; {'; '.join(d.reasons)}"
                )
    if args.causes:
        attributed = [
            (card["lang"], *found)
            for card, d in decided
            if (found := cause_of(card, d, moderator)) is not None
        ]
        print_causes(attributed)
        if args.show_misses:
            wrong = [card for card, d in decided if cause_of(card, d, moderator)]
            for card, (_, kind, cause) in zip(wrong, attributed, strict=True):
                print(f"  [{card['lang']} {kind}: {cause}] {card['text'][:90]}")
    ms = [t * 1000 for t in timings]
    print(
        f"\ntime per card after load, one core (card set, uncached): median "
        f"{statistics.median(ms):.1f} ms, mean {statistics.mean(ms):.1f} ms, p95 "
        f"{sorted(ms)[int(0.95 * len(ms))]:.1f} ms (target <= 20 ms)"
    )
    cpu_ms = [t * 1000 for t in cpu]
    print(
        f"CPU time per card (the process's, one thread: the cost on one core, without the waits "
        f"for a core): median {statistics.median(cpu_ms):.1f} ms, mean "
        f"{statistics.mean(cpu_ms):.1f} ms, p95 {sorted(cpu_ms)[int(0.95 * len(cpu_ms))]:.1f} ms; "
        f"load average {os.getloadavg()[0]:.1f} on "
        f"{os.cpu_count()} cores"
    )

    if args.hate_offensive:
        from bot.moderation.training import davidson_split, read_davidson

        tweets, classes = read_davidson(args.hate_offensive)
        _, _, test_idx = davidson_split(classes, args.seed)
        if args.sample and args.sample < len(test_idx):
            from sklearn.model_selection import train_test_split

            test_idx, _ = train_test_split(
                test_idx, train_size=args.sample, stratify=classes[test_idx], random_state=0
            )
        truth_d = [DAVIDSON_NAMES[int(classes[i])] for i in test_idx]
        pred_d: list[str] = []
        held = Counter[str]()
        t0 = time.perf_counter()
        for i, name in zip(test_idx, truth_d, strict=True):
            scores = classifier.classify(tweets[i]).scores  # the model on the raw tweet
            decision = moderator.moderate(tweets[i], "en")
            other = 1.0 - scores["toxic"] - scores["offensive"]
            model_top = max(
                ("toxic", scores["toxic"]),
                ("offensive", scores["offensive"]),
                ("other", other),
                key=lambda kv: kv[1],
            )[0]
            pred_d.append({"toxic": "hate", "offensive": "offensive"}.get(model_top, "neither"))
            if decision.decision is Verdict.HOLD:
                held[name] += 1
        per_tweet = (time.perf_counter() - t0) * 1000 / max(1, len(test_idx))
        print(
            f"\nDavidson et al. 2017 test tenth ({len(test_idx)} tweets, seed {args.seed}; "
            f"{per_tweet:.1f} ms each). Limits: English tweets, mostly slurs and profanity; "
            "models trained on them flag African-American English as abusive far more often "
            "(Davidson et al. 2019); profanity alone is not toxicity in a peer-support card."
        )
        print("  the model's own class (argmax of toxic / offensive / everything else):")
        print("\n".join(pr_table(truth_d, pred_d, DAVIDSON_NAMES)))
        tp = sum(t == "hate" and p == "hate" for t, p in zip(truth_d, pred_d, strict=True))
        print(
            f"  toxic (hate) recall {share(tp, truth_d.count('hate'))}, precision "
            f"{share(tp, pred_d.count('hate'))}"
        )
        for name in DAVIDSON_NAMES:
            print(f"  {name} tweets held by moderation: {share(held[name], truth_d.count(name))}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
