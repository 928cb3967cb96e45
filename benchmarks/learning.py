"""Learning what helps (issue 14): learners against random and oracle, and the check-in path.

    PYTHONPATH=$PWD python benchmarks/learning.py [--people 1000] [--days 30] [--seeds 1 2 3]
        [--workers 2] [--store memory|sqlite] [--skip-sim] [--skip-path] [--life-variants]

1. Simulation (bot/sim/learning_sim.py: the real learner classes, LearningService and feed
   knapsack; cells and events in memory by default, `--store sqlite` for a database per arm,
   identical figures): for each seed, mean reward per check-in (seed 1's rise in satisfaction,
   0 when it did not rise) of the default learner, seed 1's Q-table, a random policy and an
   oracle; targets: default >= 80 % of the oracle and >= 1.5x random on every seed; 1,000 people
   x 30 days in under 5 minutes on 2 cores (all four arms, `--workers` processes).
   `--life-variants`: the same on the first seed under other simulated lives between check-ins.
2. One check-in's whole path on SQLite (store the answer, update every learner, choose the next
   batch's card type and record it, one commit): median <= 5 ms with SQLite's default
   `synchronous=FULL`, beside a baseline of one sealed INSERT and its commit measured in the same
   run, interleaved; also under `synchronous=NORMAL` (labelled; not the default: docs/learning.md),
   with 10,000 other people's cells in the table (`--path-other-people`).

Figures are printed, never asserted, and are wall-clock on whatever else the machine is doing.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import insert
from sqlmodel import Session

from bot.learning.policy import load_learning_policy
from bot.learning.service import LearningService
from bot.learning.store import record_event
from bot.matching.knapsack_policy import load_knapsack_policy
from bot.sim.learning_report import render_summary
from bot.sim.learning_sim import run_simulation
from bot.store.engine import make_engine, upgrade
from bot.store.sealing import Sealer
from bot.store.tables import LearnedValue, Person

SIM_SECONDS = 300.0
PATH_MS = 5.0


def simulation(people: int, days: int, seeds: list[int], workers: int, store: str) -> None:
    policy, knapsack = load_learning_policy(), load_knapsack_policy()
    default = policy.default_learner
    print(
        f"== simulation: {people} people x {days} days, {workers} worker processes, "
        f"cells and events in {store} =="
    )
    rows = []
    for seed in seeds:
        result = run_simulation(people, days, seed, policy, knapsack, workers=workers, store=store)
        print(render_summary(result, default))
        arms = result.arms
        learned, rnd, oracle = (arms[a].mean_reward for a in (default, "random", "oracle"))
        q = arms["q_table"].mean_reward
        rows.append((seed, learned, q, rnd, oracle, result.seconds))
        print()
    print(
        f"{'seed':>4} {default:>9} {'q_table':>8} {'random':>7} {'oracle':>7} "
        f"{'def/oracle':>10} {'def/random':>10} {'q/oracle':>8} {'seconds':>8}"
    )
    for seed, learned, q, rnd, oracle, seconds in rows:
        print(
            f"{seed:>4} {learned:>9.4f} {q:>8.4f} {rnd:>7.4f} {oracle:>7.4f} "
            f"{learned / oracle:>10.1%} {learned / rnd:>9.2f}x {q / oracle:>8.1%} {seconds:>8.1f}"
        )
    met = all(ln >= 0.8 * o and ln >= 1.5 * r for _, ln, _, r, o, _ in rows)
    fast = all(s < SIM_SECONDS for *_, s in rows)
    print(
        f"target >= 80 % of oracle and >= 1.5x random on every seed: {'met' if met else 'NOT met'}"
    )
    print(f"target < {SIM_SECONDS:.0f} s per run: {'met' if fast else 'NOT met'}")
    print(f"(load average now: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)")


# How the figures depend on the simulated life between check-ins (policies/learning.yaml,
# simulation:): each variant changes only the fields named, on seed 1.
LIFE_VARIANTS: dict[str, dict[str, float]] = {
    "policy (setbacks 0.3, recovery 0.1)": {},
    "bad patches end as often as setbacks come": {"recovery_rate": 0.3},
    "smooth pull only (the first simulator)": {
        "mean_reversion": 0.15,
        "setback_rate": 0.0,
        "recovery_rate": 0.0,
    },
    "calmer days (noise sd 0.15)": {"daily_noise_sd": 0.15},
    "rougher days (noise sd 0.5)": {"daily_noise_sd": 0.5},
}


def life_variants(people: int, days: int, seed: int, workers: int) -> None:
    base, knapsack = load_learning_policy(), load_knapsack_policy()
    default = base.default_learner
    print(f"== life between check-ins: {people} people x {days} days, seed {seed} ==")
    print(
        f"{'variant':<44} {'thompson':>8} {'q_table':>8} {'random':>7} {'oracle':>7} "
        f"{'def/oracle':>10} {'def/random':>10} {'oracle/random':>13}"
    )
    for name, changes in LIFE_VARIANTS.items():
        sim = base.simulation.model_copy(update=changes)
        policy = base.model_copy(update={"simulation": sim})
        arms = run_simulation(people, days, seed, policy, knapsack, workers=workers).arms
        r = {a: arms[a].mean_reward for a in arms}
        print(
            f"{name:<44} {r['thompson']:>8.4f} {r['q_table']:>8.4f} {r['random']:>7.4f} "
            f"{r['oracle']:>7.4f} {r[default] / r['oracle']:>10.1%} "
            f"{r[default] / r['random']:>9.2f}x {r['oracle'] / r['random']:>12.2f}x"
        )
    print(f"(load average now: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)")


def _fill_cells(engine: Any, people: int) -> None:
    """Other people's cells, as a database in use holds them: each person adds the Thompson
    learner's six person-level cells (bot/learning/learners.py). A statement that scans the
    learner's cells instead of searching the index shows here, and not with 200 people."""
    if people <= 0:
        return
    with Session(engine) as session:
        session.connection().execute(
            insert(LearnedValue.__table__),  # type: ignore[attr-defined]
            [
                {
                    "learner": "thompson",
                    "scope": f"o:{i}",
                    "person_id": None,
                    "state_key": "person",
                    "action": action,
                    "value": 0.0,
                    "visits": 1,
                    "total": 0.5,
                    "total_sq": 0.25,
                }
                for i in range(people)
                for action in load_learning_policy().actions
            ],
        )
        session.commit()


def _summary(values: list[float]) -> tuple[float, float]:
    return statistics.median(values), statistics.quantiles(values, n=10)[-1]


def checkin_path(
    people: int = 200,
    rounds: int = 15,
    other_people: int = 10_000,
    modes: tuple[str, ...] = ("FULL", "NORMAL"),
) -> None:
    """answer -> learners update -> plan the next batch -> commit (one transaction, one commit),
    timed per check-in, beside a baseline measured in the same run on the same database: one
    sealed event INSERT and its commit, the least any stored check-in costs (the commit's fsync
    dominates it). Each SQLite `synchronous` mode in `modes` has its own database; all four
    timings are interleaved check-in by check-in, so they see the same load on the machine."""
    policy = load_learning_policy()
    service = LearningService(policy, rng=random.Random(7))
    sealer = Sealer("benchmark-secret-0123456789")
    load_before = os.getloadavg()
    times: dict[tuple[str, str], list[float]] = {}
    cpu: dict[tuple[str, str], list[float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        engines, rows = {}, {}
        for mode in modes:
            engine = make_engine(
                f"sqlite:///{Path(tmp) / f'path-{mode}.db'}",
                sqlite_synchronous=mode,  # type: ignore[arg-type]
            )
            upgrade(engine)
            _fill_cells(engine, other_people)
            with Session(engine, expire_on_commit=False) as session:
                rows[mode] = [
                    Person(
                        key=f"b-{i}",
                        user_class="vulnerable",
                        dominant_emotion="self_doubt",
                        mood_level=i % 4,
                    )
                    for i in range(people)
                ]
                session.add_all(rows[mode])
                session.commit()
            engines[mode] = engine
            for name in ("baseline", "path"):
                times[(mode, name)], cpu[(mode, name)] = [], []
        rng = random.Random(3)
        for _ in range(rounds):
            for i in range(people):
                feeling = rng.randint(1, 5)
                for mode in modes:
                    row, engine = rows[mode][i], engines[mode]
                    assert row.id is not None
                    started, started_cpu = time.perf_counter(), time.process_time()
                    with Session(engine, expire_on_commit=False) as session:
                        record_event(session, sealer, row.id, "offered", {})
                        session.commit()
                    times[(mode, "baseline")].append((time.perf_counter() - started) * 1000)
                    cpu[(mode, "baseline")].append((time.process_time() - started_cpu) * 1000)
                    started, started_cpu = time.perf_counter(), time.process_time()
                    with Session(engine, expire_on_commit=False) as session:
                        answer = service.answer(session, sealer, row, feeling)
                        service.plan_batch(session, sealer, row, state=answer.state)
                        session.commit()
                    times[(mode, "path")].append((time.perf_counter() - started) * 1000)
                    cpu[(mode, "path")].append((time.process_time() - started_cpu) * 1000)
        for engine in engines.values():
            engine.dispose()
    load_after = os.getloadavg()
    print(
        f"== one check-in's whole path on SQLite: {people * rounds} check-ins per mode, "
        f"{people} people, {other_people} other people's cells in the table =="
    )
    print(
        f"load average {load_before[0]:.1f} / {load_before[1]:.1f} (1 / 5 min) before, "
        f"{load_after[0]:.1f} / {load_after[1]:.1f} after, on {os.cpu_count()} cores; "
        f"{'quiet' if max(load_before[0], load_after[0]) < 3 else 'NOT quiet'}"
    )
    print(
        f"{'synchronous':<12} {'what':<38} {'wall median':>11} {'p90':>7} "
        f"{'CPU median':>10} {'p90':>7}"
    )
    for mode in modes:
        for name, label in (
            ("baseline", "baseline: one sealed INSERT + commit"),
            ("path", "path: store, update, choose, commit"),
        ):
            wall, cpu_ = _summary(times[(mode, name)]), _summary(cpu[(mode, name)])
            print(
                f"{mode:<12} {label:<38} {wall[0]:>8.2f} ms {wall[1]:>7.2f} "
                f"{cpu_[0]:>7.2f} ms {cpu_[1]:>7.2f}"
            )
        wall_ratio = statistics.median(times[(mode, "path")]) / statistics.median(
            times[(mode, "baseline")]
        )
        cpu_ratio = statistics.median(cpu[(mode, "path")]) / statistics.median(
            cpu[(mode, "baseline")]
        )
        print(f"{mode:<12} path / baseline (medians): {wall_ratio:.2f}x wall, {cpu_ratio:.2f}x CPU")
    default = modes[0]
    median = statistics.median(times[(default, "path")])
    print(
        f"target: path median <= {PATH_MS} ms with synchronous {default} (the default): "
        f"{'met' if median <= PATH_MS else 'NOT met'} ({median:.2f} ms)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=1000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--store", choices=("memory", "sqlite"), default="memory")
    parser.add_argument("--skip-sim", action="store_true")
    parser.add_argument("--skip-path", action="store_true")
    parser.add_argument(
        "--life-variants", action="store_true", help="also: the figures under other simulated lives"
    )
    parser.add_argument("--path-rounds", type=int, default=15, help="check-ins per person")
    parser.add_argument(
        "--path-other-people",
        type=int,
        default=10_000,
        help="other people whose learned cells are in the table during the path's timing",
    )
    parser.add_argument(
        "--path-synchronous",
        nargs="+",
        choices=("FULL", "NORMAL"),
        default=["FULL", "NORMAL"],
        help="SQLite synchronous modes to time (the first one is the target's)",
    )
    args = parser.parse_args()
    if not args.skip_path:
        checkin_path(
            rounds=args.path_rounds,
            other_people=args.path_other_people,
            modes=tuple(args.path_synchronous),
        )
    if not args.skip_sim:
        simulation(args.people, args.days, args.seeds, args.workers, args.store)
    if args.life_variants:
        life_variants(args.people, args.days, args.seeds[0], args.workers)


if __name__ == "__main__":
    main()
