"""Run by test_scheduler_sigint: a study that is interrupted with SIGINT (Ctrl-C)."""

from __future__ import annotations

import sys

import anyio
from scheduler_helpers import Quad, loss

import asynchyper as ah


async def objective(config: Quad) -> float:
    await anyio.sleep(30)
    return loss(config)


class Announce(ah.Suggester):
    """Random draws; prints a line once every slot holds a running trial."""

    def __init__(self) -> None:
        self.calls = 0

    def suggest(self, space, history, pending, rng, k=1):  # type: ignore[no-untyped-def]
        self.calls += 1
        if self.calls == 4:
            print("running", flush=True)
        return [space.sample(rng) for _ in range(k)]


async def main(path: str) -> None:
    await ah.minimize(objective, Quad, trials=10, concurrency=4, storage=path, suggester=Announce())


if __name__ == "__main__":
    try:
        anyio.run(main, sys.argv[1], backend=sys.argv[2])
    except KeyboardInterrupt:
        print("KeyboardInterrupt", flush=True)
        sys.exit(3)
