"""Figures and the learning-curve chart of a learning simulation (bot/sim/learning_sim.py)."""

from __future__ import annotations

from pathlib import Path
from statistics import median
from typing import Any

import matplotlib

matplotlib.use("Agg")

from matplotlib import pyplot as plt

from bot.sim.learning_sim import SimResult

LABELS = {
    "thompson": "Thompson, shared features",
    "q_table": "Q-table (seed 1 §3.6)",
    "random": "random",
    "oracle": "oracle",
}


def simulation_json(result: SimResult, default: str) -> dict[str, Any]:
    """`learned`, `random`, `oracle`: mean reward per check-in (seed 1's rise) over the run;
    `learned` is the default learner. Beside them, every arm's figures."""
    arms = result.arms
    out: dict[str, Any] = {
        "learned": arms[default].mean_reward if default in arms else None,
        "random": arms["random"].mean_reward if "random" in arms else None,
        "oracle": arms["oracle"].mean_reward if "oracle" in arms else None,
        "default_learner": default,
        "people": result.people,
        "days": result.days,
        "seed": result.seed,
        "seconds": round(result.seconds, 2),
        "checkin_ms_median": round(median(result.checkin_ms), 3) if result.checkin_ms else None,
        "arms": {
            name: {
                "mean_reward": arm.mean_reward,
                "checkins": len(arm.rewards),
                "helped_per_batch": arm.helped_rate,
                "final_feeling_mean": (
                    sum(arm.final_feeling) / len(arm.final_feeling) if arm.final_feeling else None
                ),
                "curve": [round(v, 4) for v in result.curve(name)],
            }
            for name, arm in arms.items()
        },
    }
    return out


def render_summary(result: SimResult, default: str) -> str:
    lines = [
        f"{result.people} people x {result.days} days, seed {result.seed}: {result.seconds:.1f} s",
        f"{'arm':<28} {'reward/check-in':>16} {'helped/batch':>13} {'final feeling':>14}",
    ]
    for name, arm in result.arms.items():
        final = sum(arm.final_feeling) / len(arm.final_feeling) if arm.final_feeling else 0.0
        mark = " (default)" if name == default else ""
        lines.append(
            f"{LABELS.get(name, name) + mark:<28} {arm.mean_reward:>16.4f} "
            f"{arm.helped_rate:>13.3f} {final:>14.2f}"
        )
    return "\n".join(lines)


def write_curves(result: SimResult, path: Path) -> Path:
    """Mean reward per check-in for each arm, day by day and cumulative."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fig, (daily, cumulative) = plt.subplots(1, 2, figsize=(11, 4.2), dpi=100)
    try:
        for name, arm in result.arms.items():
            curve = result.curve(name)
            days = range(1, len(curve) + 1)
            daily.plot(days, curve, label=LABELS.get(name, name))
            sums, counts, running = 0.0, 0, []
            for day in arm.per_day:
                sums, counts = sums + sum(day), counts + len(day)
                running.append(sums / counts if counts else 0.0)
            cumulative.plot(days, running, label=LABELS.get(name, name))
        daily.set_title("Mean reward per check-in, by day")
        cumulative.set_title("Mean reward per check-in, so far")
        for axes in (daily, cumulative):
            axes.set_xlabel("day")
            axes.set_ylabel("reward (rise in satisfaction)")
            axes.grid(alpha=0.3)
        cumulative.legend(fontsize=8)
        fig.suptitle(f"{result.people} simulated people, seed {result.seed}")
        fig.tight_layout()
        fig.savefig(path, format="png")
    finally:
        plt.close(fig)
    return path
