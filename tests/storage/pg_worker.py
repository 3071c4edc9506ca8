"""One worker process of the PostgreSQL multi-process tests (a script, never imported).

Usage::

    python pg_worker.py URL STUDY TRIALS CONCURRENCY SLEEP SEED BACKEND [BARRIER_DIR]

It runs an independent ``asynchyper.minimize`` on the shared study, as a separate
machine would, and prints ``done <n>`` with the number of trials it completed. With
BARRIER_DIR it first creates ``ready-<seed>`` there and waits for ``go`` to appear,
so that several workers start together whatever their start-up time.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Annotated

import anyio
import attrs

import asynchyper as ah


@attrs.frozen(kw_only=True)
class Space:
    x: Annotated[float, ah.Float(-5.0, 5.0)]
    y: Annotated[float, ah.Float(-5.0, 5.0)]


async def main(argv: list[str]) -> None:
    url, study, trials, concurrency, pause, seed = argv[:6]

    async def objective(config: Space) -> float:
        await anyio.sleep(float(pause))
        return config.x**2 + config.y**2

    result = await ah.minimize(
        objective,
        Space,
        trials=int(trials),
        concurrency=int(concurrency),
        storage=url,
        study=study,
        suggester=ah.Random(),
        seed=int(seed),
    )
    mine = sum(1 for trial in result.trials if trial.state is ah.TrialState.COMPLETE)
    sys.stdout.write(f"done {mine}\n")


def wait_for_go(barrier: Path, seed: str) -> None:
    (barrier / f"ready-{seed}").touch()
    deadline = time.monotonic() + 120
    while not (barrier / "go").exists():
        if time.monotonic() > deadline:
            sys.exit("no go signal")
        time.sleep(0.01)


if __name__ == "__main__":
    if len(sys.argv) > 8:
        wait_for_go(Path(sys.argv[8]), sys.argv[6])
    anyio.run(main, sys.argv[1:7], backend=sys.argv[7])
