"""How soon TPE commits to a categorical value: asynchyper's TPE against hyperopt's.

Space: one categorical ``c`` of two choices (``"a"``, ``"b"``) and three continuous
parameters ``x0``, ``x1``, ``x2`` on [0, 1]. Objective (noise-free)::

    loss = (x0 - 0.2)² + (x1 - 0.5)² + (x2 - 0.8)² + 0.05 · [c == "a"]

``"b"`` is the better choice by a modest offset (0.05; ``--offset`` changes it), with
the same optimum of the continuous part under both choices, so the best loss is 0
(``c = "b"``, x at the target). The continuous parameters matter more across the
space: under random sampling their part of the loss averages about 0.43, against the
0.05 of the choice. Near the optimum it is the other way round: 60 TPE trials bring
the continuous part to a few thousandths, so a run that settles on the worse choice
ends near the offset (the default 0.05 was set before the first run and kept).

Each method runs 60 trials, one at a time, for each seed (``--seeds 10``: seeds
0..9): asynchyper's ``TPE()`` (its defaults), ``TPE(multivariate=False)``, and
hyperopt's ``tpe.suggest`` with its defaults (through ``peers.py``'s ask/tell runners:
asynchyper's suggester is called sans-IO, in process). Printed per method: the
trials on the better choice in each seed (and their min..max), the trials on the
choice that got the most (min..max), the seeds that settled mostly (more than half
of the trials) on the worse choice, the median best loss (and its range), and in how
many seeds its best loss was below hyperopt's on the same seed. Run::

    python benchmarks/categorical_commitment.py
    python benchmarks/categorical_commitment.py --seeds 30 --trials 100
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path
from typing import Annotated, Any, Literal

import attrs

sys.path.insert(0, str(Path(__file__).resolve().parent))

from peers import make_runner

import asynchyper as ah

TARGET = (0.2, 0.5, 0.8)
BETTER, WORSE = "b", "a"
OFFSET = 0.05

Unit = Annotated[float, ah.Float(0.0, 1.0)]


@attrs.frozen(kw_only=True)
class ChoiceSpace:
    c: Literal["a", "b"]
    x0: Unit
    x1: Unit
    x2: Unit


def loss(params: dict[str, Any], offset: float = OFFSET) -> float:
    """The continuous parameters' squared distance to ``TARGET``, plus the offset."""
    distance = sum((float(params[f"x{i}"]) - t) ** 2 for i, t in enumerate(TARGET))
    return distance + (offset if params["c"] == WORSE else 0.0)


#: Label, ``make_runner`` method, asynchyper TPE options.
METHODS: list[tuple[str, str, dict[str, Any] | None]] = [
    ("asynchyper TPE()", "asynchyper", None),
    ("asynchyper TPE(multivariate=False)", "asynchyper[uni]", {"multivariate": False}),
    ("hyperopt tpe.suggest (defaults)", "hyperopt_defaults", None),
]


def run(
    method: str, tpe_options: dict[str, Any] | None, seed: int, trials: int, offset: float
) -> list[Any]:
    """One sequential run; the (choice, loss) of every trial in order."""
    space = ah.compile_space(ChoiceSpace)
    runner = make_runner(method, space, seed, tpe_options=tpe_options)
    out = []
    for _ in range(trials):
        handle, params = runner.ask()
        value = loss(params, offset)
        runner.tell(handle, value)
        out.append((params["c"], value))
    return out


def main() -> None:
    """Run every method on every seed and print the summary."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, default=10, help="seeds 0..N-1")
    parser.add_argument("--trials", type=int, default=60)
    parser.add_argument(
        "--offset", type=float, default=OFFSET, help="loss added on the worse choice"
    )
    args = parser.parse_args()
    seeds = range(args.seeds)
    print(
        f"2 choices + 3 continuous parameters, offset {args.offset:g} on the worse choice; "
        f"{args.trials} trials one at a time, seeds {seeds.start}..{seeds.stop - 1}"
    )
    best: dict[str, list[float]] = {}
    for label, method, options in METHODS:
        on_better: list[int] = []
        majority: list[int] = []
        bests: list[float] = []
        for seed in seeds:
            trials = run(method, options, seed, args.trials, args.offset)
            count = sum(choice == BETTER for choice, _ in trials)
            on_better.append(count)
            majority.append(max(count, args.trials - count))
            bests.append(min(value for _, value in trials))
        best[label] = bests
        worse = [2 * count < args.trials for count in on_better]
        print(f"\n== {label}")
        print(f"  trials on the better choice per seed: {on_better}")
        print(f"  on the better choice: {min(on_better)}..{max(on_better)} of {args.trials}")
        print(f"  on the choice with the most trials: {min(majority)}..{max(majority)}")
        print(f"  seeds that settled mostly on the worse choice: {sum(worse)} of {len(seeds)}")
        print(
            f"  best loss: median {statistics.median(bests):.3f} "
            f"(min {min(bests):.3f}, max {max(bests):.3f}); per seed "
            + " ".join(f"{b:.3f}" for b in bests)
        )
        if any(worse):
            there = statistics.median(b for b, w in zip(bests, worse, strict=True) if w)
            print(f"  median best loss in the seeds on the worse choice: {there:.3f}")
    reference = best[METHODS[-1][0]]
    print()
    for label, _, _ in METHODS[:-1]:
        below = sum(ours < theirs for ours, theirs in zip(best[label], reference, strict=True))
        print(f"{label}: best loss below hyperopt's (same seed) in {below} of {len(seeds)} seeds")


if __name__ == "__main__":
    main()
