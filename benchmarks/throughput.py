"""Scheduler throughput: utilisation, and trials/s against Optuna in the same run.

Run: ``python benchmarks/throughput.py [--trials N] [--backend asyncio|trio]``

1. Utilisation: ``concurrency=64``, 2,000 trials whose objective awaits
   ``anyio.sleep(0.05)``; ideal time is ``ceil(2000 / 64) * 0.05`` s (target >= 95 %).
2. Trials per second with a trivial objective and random search, in memory, one trial
   at a time, against Optuna 5 (``RandomSampler``, in memory) on the same space.
3. The same with ``concurrency=64`` against Optuna with ``n_jobs=8``.

For (2) and (3) a second asynchyper line uses a suggester that only draws from the
prior (``space.sample``), to separate the scheduler's cost from ``Random``'s.
"""

from __future__ import annotations

import argparse
import math
import time
from collections.abc import Sequence
from typing import Annotated, Any, Literal

import anyio
import attrs
import numpy as np

import asynchyper as ah
from asynchyper._types import JSONScalar, Params


@attrs.frozen(kw_only=True)
class Space:
    """Four parameters: the same as the Optuna objective below suggests."""

    x: Annotated[float, ah.Float(-5.0, 5.0)]
    lr: Annotated[float, ah.Float(1e-5, 1e-1, log=True)]
    layers: Annotated[int, ah.Int(1, 8)]
    act: Literal["relu", "tanh", "gelu"]


class PriorOnly(ah.Suggester):
    """Draws every suggestion from the prior and nothing else (scheduler cost only)."""

    def suggest(
        self,
        space: ah.Space[Any],
        history: ah.History,
        pending: Sequence[Params],
        rng: np.random.Generator,
        k: int = 1,
    ) -> list[dict[str, JSONScalar]]:
        return [space.sample(rng) for _ in range(k)]


async def sleeping(config: Space) -> float:
    await anyio.sleep(0.05)
    return config.x


async def trivial(config: Space) -> float:
    return config.x


async def bare_anyio(n: int, concurrency: int, seconds: float) -> float:
    """The same sleeps in plain anyio tasks, no optimizer: what the machine allows."""
    remaining = n

    async def slot() -> None:
        nonlocal remaining
        while remaining > 0:
            remaining -= 1
            await anyio.sleep(seconds)

    started = time.perf_counter()
    async with anyio.create_task_group() as group:
        for _ in range(concurrency):
            group.start_soon(slot)
    return time.perf_counter() - started


async def asynchyper_rate(trials: int, concurrency: int, suggester: ah.Suggester) -> float:
    started = time.perf_counter()
    result = await ah.minimize(
        trivial, Space, trials=trials, concurrency=concurrency, suggester=suggester, seed=0
    )
    elapsed = time.perf_counter() - started
    assert len(result.completed) == trials
    return trials / elapsed


def optuna_rate(trials: int, n_jobs: int) -> float:
    import optuna  # noqa: PLC0415 - a benchmark-only peer

    optuna.logging.set_verbosity(optuna.logging.WARNING)

    def objective(trial: Any) -> float:
        x = float(trial.suggest_float("x", -5.0, 5.0))
        trial.suggest_float("lr", 1e-5, 1e-1, log=True)
        trial.suggest_int("layers", 1, 8)
        trial.suggest_categorical("act", ["relu", "tanh", "gelu"])
        return x

    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    started = time.perf_counter()
    study.optimize(objective, n_trials=trials, n_jobs=n_jobs)
    return trials / (time.perf_counter() - started)


async def main(trials: int, backend: str) -> None:
    print(f"backend: {backend}")

    # (1) utilisation
    n, concurrency, seconds = 2000, 64, 0.05
    ideal = math.ceil(n / concurrency) * seconds
    started = time.perf_counter()
    await ah.minimize(sleeping, Space, trials=n, concurrency=concurrency, suggester=ah.Random())
    elapsed = time.perf_counter() - started
    started = time.perf_counter()
    await ah.minimize(sleeping, Space, trials=n, concurrency=concurrency, suggester=PriorOnly())
    elapsed_prior = time.perf_counter() - started
    bare = await bare_anyio(n, concurrency, seconds)
    print(
        f"(1) utilisation, concurrency={concurrency}, {n} trials of {seconds} s, "
        f"ideal {ideal:.3f} s (target >= 95 %):\n"
        f"    asynchyper, Random():       {elapsed:.3f} s -> {100 * ideal / elapsed:5.1f} %\n"
        f"    asynchyper, prior sampling: {elapsed_prior:.3f} s -> "
        f"{100 * ideal / elapsed_prior:5.1f} %\n"
        f"    bare anyio tasks (ceiling of this machine now): {bare:.3f} s -> "
        f"{100 * ideal / bare:5.1f} %"
    )

    # (2) and (3): trials per second
    for label, concurrency, n_jobs in (("(2)", 1, 1), ("(3)", 64, 8)):
        ours = await asynchyper_rate(trials, concurrency, ah.Random())
        prior = await asynchyper_rate(trials, concurrency, PriorOnly())
        peer = await anyio.to_thread.run_sync(optuna_rate, trials, n_jobs)
        print(
            f"{label} trivial objective, {trials} trials in memory:\n"
            f"    asynchyper concurrency={concurrency}, Random():       {ours:8.0f} trials/s"
            f"  ratio {ours / peer:.2f}\n"
            f"    asynchyper concurrency={concurrency}, prior sampling: {prior:8.0f} trials/s"
            f"  ratio {prior / peer:.2f}\n"
            f"    optuna 5 n_jobs={n_jobs}, RandomSampler:         {peer:8.0f} trials/s"
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=3000)
    parser.add_argument("--backend", choices=["asyncio", "trio"], default="asyncio")
    arguments = parser.parse_args()
    anyio.run(main, arguments.trials, arguments.backend, backend=arguments.backend)
