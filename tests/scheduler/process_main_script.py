"""Run by test_scheduler_executors: a process objective raising a class defined here.

The exception class lives in ``__main__``, which worker processes load as
``__mp_main__``; the parent must still report it by name.
"""

from __future__ import annotations

import sys

import anyio
from scheduler_helpers import Quad

import asynchyper as ah


class DivergedError(Exception):
    """An exception class only this script defines."""


def objective(config: Quad) -> float:
    msg = f"loss diverged at x={config.x:.3f}"
    raise DivergedError(msg)


async def main() -> None:
    result = await ah.minimize(
        objective, Quad, trials=1, max_failures=1, executor="process", progress=False
    )
    print(result.trials[0].error, flush=True)


if __name__ == "__main__":
    anyio.run(main, backend=sys.argv[1])
