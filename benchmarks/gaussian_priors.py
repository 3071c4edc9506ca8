"""Gaussian priors: asynchyper's TPE against Hyperopt's on ``hp.normal`` / ``hp.lognormal``.

Each problem has float parameters with a Gaussian prior and an optimum at some number
of standard deviations from the prior mean. Hyperopt gets ``hp.normal(mu, sigma)`` (or
``hp.lognormal``), unbounded; asynchyper gets ``ah.Float(mu - 6 sigma, mu + 6 sigma,
mu=mu, sigma=sigma)`` (``log=True`` with the bounds' exponentials), the closest bounded
form (docs/hyperopt.md). Also run: asynchyper's TPE with a *uniform* prior on the same
range (what a user had to write before Gaussian priors existed), and random search
from the Gaussian prior. One trial at a time, the same budget and seeds for every
method; the script prints the median (and interquartile range) of the best loss per
problem and each method's mean rank over problems and seeds (1 is best). Run::

    python benchmarks/gaussian_priors.py                  # 10 seeds, 100 trials
    python benchmarks/gaussian_priors.py --seeds 20 --budget 60
"""

from __future__ import annotations

import argparse
import logging
import math
import statistics
from collections.abc import Callable, Sequence
from typing import Annotated, Any

import attrs
import numpy as np

import asynchyper as ah

#: How far the bounded form reaches each side of the mean, in standard deviations.
REACH = 6.0


@attrs.frozen
class Param:
    """A parameter with a Gaussian prior (of its logarithm when ``log``)."""

    name: str
    mu: float
    sigma: float
    log: bool = False


@attrs.frozen
class Problem:
    """Parameters and a loss of their values (lower is better)."""

    name: str
    params: tuple[Param, ...]
    loss: Callable[[dict[str, float]], float]


def _squares(centres: dict[str, float], logs: Sequence[str] = ()) -> Callable[..., float]:
    def loss(values: dict[str, float]) -> float:
        total = 0.0
        for name, centre in centres.items():
            value = math.log(values[name]) if name in logs else values[name]
            total += (value - centre) ** 2
        return total

    return loss


PROBLEMS = [
    Problem("at the mean", (Param("x", 0.0, 1.0),), _squares({"x": 0.0})),
    Problem("at 2 sigma", (Param("x", 0.0, 1.0),), _squares({"x": 2.0})),
    Problem(
        "2-d at 3 and -1 sigma",
        (Param("x", 0.0, 1.0), Param("y", 5.0, 2.0)),
        _squares({"x": 3.0, "y": 3.0}),
    ),
    Problem(
        # Hyperopt's test domain q1_lognormal without its rounding: x = 10 is 1.15 sigma.
        "lognormal(0, 2)",
        (Param("x", 0.0, 2.0, log=True),),
        lambda v: min(0.1 * (v["x"] - 10.0) ** 2, 10.0),
    ),
    Problem(
        "5-d mixed",
        (*(Param(f"x{i}", 0.0, 1.0) for i in range(4)), Param("lr", -7.0, 1.5, log=True)),
        _squares({"x0": 0.5, "x1": -1.0, "x2": 1.5, "x3": 0.0, "lr": -4.0}, logs=["lr"]),
    ),
]


def _space(problem: Problem, *, gaussian: bool) -> ah.Space[Any]:
    fields = {}
    for p in problem.params:
        low, high = p.mu - REACH * p.sigma, p.mu + REACH * p.sigma
        if p.log:
            low, high = math.exp(low), math.exp(high)
        prior = {"mu": p.mu, "sigma": p.sigma} if gaussian else {}
        marked: Any = Annotated[float, ah.Float(low, high, log=p.log, **prior)]
        fields[p.name] = attrs.field(type=marked)
    cls = attrs.make_class(problem.name.replace(" ", "_"), fields, frozen=True, kw_only=True)
    return ah.compile_space(cls)


def run_asynchyper(
    problem: Problem, seed: int, budget: int, *, gaussian: bool, suggester: ah.Suggester
) -> float:
    """Best loss of ``budget`` sequential trials."""
    space = _space(problem, gaussian=gaussian)
    history = ah.History(space)
    rng = np.random.default_rng(seed)
    for _ in range(budget):
        (params,) = suggester.suggest(space, history, [], rng)
        history.add(params, problem.loss({k: float(v) for k, v in params.items()}))  # type: ignore[arg-type]
    return float(np.nanmin(history.y))


def run_hyperopt(problem: Problem, seed: int, budget: int) -> float:
    """Best loss of Hyperopt's TPE with ``hp.normal`` / ``hp.lognormal`` (unbounded)."""
    import hyperopt  # noqa: PLC0415 - peers are optional
    from hyperopt import hp  # noqa: PLC0415

    logging.getLogger("hyperopt").setLevel(logging.ERROR)
    space = {
        p.name: (hp.lognormal if p.log else hp.normal)(p.name, p.mu, p.sigma)
        for p in problem.params
    }
    trials = hyperopt.Trials()
    hyperopt.fmin(
        lambda values: problem.loss({k: float(v) for k, v in values.items()}),
        space,
        algo=hyperopt.tpe.suggest,
        max_evals=budget,
        trials=trials,
        rstate=np.random.default_rng(seed),
        show_progressbar=False,
    )
    return float(min(trials.losses()))


METHODS: dict[str, Callable[[Problem, int, int], float]] = {
    "asynchyper (Gaussian)": lambda p, s, b: run_asynchyper(
        p, s, b, gaussian=True, suggester=ah.TPE()
    ),
    "hyperopt (hp.normal)": run_hyperopt,
    "asynchyper (uniform)": lambda p, s, b: run_asynchyper(
        p, s, b, gaussian=False, suggester=ah.TPE()
    ),
    "random (Gaussian)": lambda p, s, b: run_asynchyper(
        p, s, b, gaussian=True, suggester=ah.Random()
    ),
}


def main() -> None:
    """Run every method on every problem and print the table and the mean ranks."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--budget", type=int, default=100)
    args = parser.parse_args()
    names = list(METHODS)
    ranks: dict[str, list[float]] = {name: [] for name in names}
    print(f"best loss after {args.budget} trials, median [IQR] over {args.seeds} seeds")
    print(f"{'problem':<24} | " + " | ".join(f"{name:>26}" for name in names))
    for problem in PROBLEMS:
        best = {
            name: [METHODS[name](problem, seed, args.budget) for seed in range(args.seeds)]
            for name in names
        }
        cells = []
        for name in names:
            q1, median, q3 = np.percentile(best[name], [25, 50, 75])
            cells.append(f"{median:.2e} [{q1:.1e}, {q3:.1e}]".rjust(26))
        print(f"{problem.name:<24} | " + " | ".join(cells))
        for seed in range(args.seeds):
            order = statistics.mean  # ties share their mean rank
            values = [best[name][seed] for name in names]
            for name, value in zip(names, values, strict=True):
                below = sum(v < value for v in values)
                equal = sum(v == value for v in values)
                ranks[name].append(order([below + 1 + k for k in range(equal)]))
    print(
        "mean rank (1 is best): "
        + ", ".join(f"{n} {statistics.mean(r):.2f}" for n, r in ranks.items())
    )


if __name__ == "__main__":
    main()
