"""Seed 2's pipeline on synthetic Japanese posts, and the experiment on a reduced setting."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from bot.cli import main
from bot.matching.knapsack_policy import ExperimentPolicy, load_knapsack_policy
from bot.sim.japanese_posts import MEDICINES, NEUTRAL, POSITIVE, SimPerson
from bot.sim.seed2 import (
    analyse,
    build_population,
    classify_level,
    group_population,
    read_post,
)


def person(posts: list[str], days_per_post: float = 0.5) -> SimPerson:
    return SimPerson(1, 0, tuple(posts), tuple(i * days_per_post for i in range(len(posts))))


def test_levels_follow_seed2_rules_on_the_text() -> None:
    filler = list(NEUTRAL) * 5  # 40 posts
    two_medicines = [f"{MEDICINES[0]}を飲んだ。", f"今日から{MEDICINES[5]}が増えた。"]
    assert classify_level([read_post(p) for p in [*filler, *two_medicines]]) == 3
    same_twice = [f"{MEDICINES[0]}を飲んだ。", f"{MEDICINES[0]}を飲み忘れた。"]
    assert classify_level([read_post(p) for p in [*filler, *same_twice]]) == 2
    # "だるい" in any form: 2 of 42 posts is 4.8 % (level 1), 1 of 41 is 2.4 % (level 0).
    tired = ["体がだるくて動けない。", "なんだか憂鬱だ。"]
    assert classify_level([read_post(p) for p in [*filler, *tired]]) == 1
    assert classify_level([read_post(p) for p in [*filler, tired[0]]]) == 0
    assert classify_level([read_post(p) for p in filler]) == 0


def test_polarity_and_posting_rate_come_from_the_posts() -> None:
    cheerful = analyse(person(list(POSITIVE), days_per_post=0.25))
    assert cheerful.positive > cheerful.negative == 0
    assert cheerful.polarity.pos > cheerful.polarity.neg
    assert cheerful.days_per_post == pytest.approx(0.25)
    gloomy = analyse(person(["仕事が辛い。", "疲れて悲しい。", "少し元気が出た。"]))
    assert gloomy.negative > gloomy.positive


def small_policy() -> ExperimentPolicy:
    data = load_knapsack_policy().experiment.model_dump()
    data.update(people_per_level=20, b1=(2, 4))
    return ExperimentPolicy.model_validate(data)


def test_the_population_has_the_seeds_shape_and_is_reproducible() -> None:
    policy = small_policy()
    population = build_population(policy)
    assert [sum(p.level == lv for p in population) for lv in range(4)] == [20] * 4
    again = build_population(policy)
    assert [(p.person_id, p.ratio) for p in again] == [(p.person_id, p.ratio) for p in population]
    groups = group_population(population, 10)
    assert len(groups) == 8 and all(len(g) == 10 for g in groups)
    for group in groups:
        assert len({p.level for p in group}) == 1
    level3 = [p.ratio for g in groups if g[0].level == 3 for p in g]
    assert level3 == sorted(level3, reverse=True)  # §VII-A2: descending polarity
    # Higher levels post more often in this generator (seed 2 §VIII-A says so of its data).
    days = [np.median([p.days_per_post for p in population if p.level == lv]) for lv in range(4)]
    assert days[3] < days[0]


def test_the_experiment_command_runs_on_a_reduced_setting(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    chart = tmp_path / "seed2.png"
    argv = ["experiment", "knapsack", "--people-per-level", "20", "--b1", "2", "4"]
    assert main([*argv, "--json", "--chart", str(chart)]) == 0
    captured = capsys.readouterr()
    payload = json.loads(captured.out)
    assert "setting 8/8" in captured.err  # progress on stderr
    assert chart.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    settings = payload["settings"]
    assert len(settings) == 8
    assert {(s["users"], s["b1"]) for s in settings} == {
        (u, b) for u in ("heavy", "casual") for b in (2, 4)
    }
    for s in settings:
        assert len(s["levels"]) == 4 and sum(s["levels"]) == s["total"] <= s["b1"]
        objective = s["objective"]
        assert set(objective) == set(s["seconds"]) == {"exact", "fast", "surrogate", "greedy"}
        assert objective["fast"] == pytest.approx(objective["exact"], rel=1e-4)
        assert objective["surrogate"] <= objective["exact"] + 1e-9
        assert objective["greedy"] <= objective["exact"] + 1e-9
        assert s["paper"] is None or len(s["paper"]["levels"]) == 4
    # The text report has the tables' layout.
    assert main([*argv, "--no-chart", "--methods", "fast"]) == 0
    text = capsys.readouterr().out
    assert "Table I: connecting heavy users" in text and "paper:" in text
