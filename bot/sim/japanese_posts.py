"""A seeded synthetic population that writes short Japanese posts, for the seed-2 experiment.

Seed 2 collected 500 Twitter accounts per mood level (§IV) and ran its pipeline on their text.
We cannot ship those tweets, so people are generated with an *intended* level and post
sentences from the banks below: mood sentences (positive with a personal probability, negative
otherwise), neutral ones, "だるい" / "憂鬱" ones (§IV's keywords) and, for intended levels 2-3,
sentences naming one of 27 medicines related to mood disorders (§IV). Timestamps follow the
person's posting rate. Nothing here decides a level: the pipeline (bot.sim.seed2) reads the
text, so a person who never happens to name their medicine lands at a lower level, as a real
account would. Parameters: `experiment.generator` in policies/knapsack.yaml.

All sentences are our own, everyday and non-identifying.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from bot.matching.knapsack_policy import GeneratorPolicy

# Brand names of antidepressants, mood stabilisers and anxiolytics sold in Japan (seed 2 §IV
# used 27 such names; its list is not published, so this is ours).
MEDICINES: tuple[str, ...] = (
    "パキシル", "ジェイゾロフト", "レクサプロ", "ルボックス", "デプロメール", "サインバルタ",
    "トレドミン", "イフェクサー", "リフレックス", "レメロン", "トリンテリックス", "デジレル",
    "アモキサン", "トフラニール", "トリプタノール", "アナフラニール", "テトラミド", "ドグマチール",
    "リーマス", "デパケン", "ラミクタール", "テグレトール", "エビリファイ", "デパス",
    "ソラナックス", "ワイパックス", "メイラックス",
)  # fmt: skip

POSITIVE: tuple[str, ...] = (
    "今日は友達と話せて嬉しい。", "散歩して気分が良い。", "美味しいご飯で幸せ。",
    "少し元気が出た。", "楽しい一日だった。", "褒められて嬉しかった。",
    "空がきれいで気持ちいい。", "好きな音楽を聴いて安心した。", "久しぶりに楽しく笑えた。",
    "猫がかわいくて癒された。", "朝の光が明るくて良い。", "温かいお茶でほっとした。",
)  # fmt: skip
NEGATIVE: tuple[str, ...] = (
    "仕事が辛い。", "夜眠れなくて不安だ。", "疲れて悲しい。", "頭が痛くて苦しい。",
    "失敗ばかりで情けない。", "寂しくて泣いた。", "何をしても辛い。", "将来が心配で辛い。",
    "誰にも会いたくないほど疲れた。", "また失敗して悔しい。", "胸が苦しい夜だった。",
    "人に会うのが辛い。",
)  # fmt: skip
NEUTRAL: tuple[str, ...] = (
    "今日は雨が降っている。", "電車に乗った。", "昼ご飯はカレーだった。", "洗濯をした。",
    "駅まで歩いた。", "本を読んでいる。", "コンビニに行った。", "テレビを見ている。",
)  # fmt: skip
KEYWORD: tuple[str, ...] = (
    "朝からだるい。", "なんだか憂鬱だ。", "体がだるくて動けない。", "月曜日は憂鬱。",
    "ずっとだるい。", "雨の日は憂鬱になる。",
)  # fmt: skip
MEDICINE_TEMPLATES: tuple[str, ...] = (
    "{}を飲んだ。", "今日から{}が増えた。", "{}のおかげで少し眠れた。", "{}を飲み忘れた。",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class SimPerson:
    person_id: int
    intended_level: int
    posts: tuple[str, ...]
    days: tuple[float, ...]  # time of each post, in days from the first one


def _post(
    rng: np.random.Generator,
    level: int,
    positive: float,
    medicines: list[str],
    policy: GeneratorPolicy,
) -> str:
    draw = rng.random()
    if medicines and draw < policy.medicine_share[level]:
        template = MEDICINE_TEMPLATES[rng.integers(len(MEDICINE_TEMPLATES))]
        return template.format(medicines[rng.integers(len(medicines))])
    draw = rng.random()
    if draw < policy.keyword_share[level]:
        return KEYWORD[rng.integers(len(KEYWORD))]
    if rng.random() < policy.neutral_share:
        return NEUTRAL[rng.integers(len(NEUTRAL))]
    bank = POSITIVE if rng.random() < positive else NEGATIVE
    return bank[rng.integers(len(bank))]


def generate_people(
    rng: np.random.Generator,
    intended_level: int,
    posts_per_person: int,
    policy: GeneratorPolicy,
    first_id: int = 0,
) -> Iterator[SimPerson]:
    """An endless, reproducible stream of people meant to be at `intended_level`."""
    person_id = first_id
    mean = policy.positive_share[intended_level]
    a = mean * policy.positive_concentration
    b = (1.0 - mean) * policy.positive_concentration
    while True:
        positive = float(rng.beta(a, b))
        rate = policy.posts_per_day_median[intended_level] * float(
            np.exp(rng.normal(0.0, policy.posts_per_day_sigma))
        )
        named = policy.medicines_named[intended_level]
        medicines = (
            [MEDICINES[i] for i in rng.choice(len(MEDICINES), named, replace=False)]
            if named
            else []
        )
        posts = tuple(
            _post(rng, intended_level, positive, medicines, policy) for _ in range(posts_per_person)
        )
        gaps = rng.exponential(1.0 / rate, posts_per_person - 1)
        days = tuple(float(x) for x in np.concatenate([[0.0], np.cumsum(gaps)]))
        yield SimPerson(person_id, intended_level, posts, days)
        person_id += 1
