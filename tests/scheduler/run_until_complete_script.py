"""Run by test_scheduler_sigint: Ctrl-C on a study driven as IPython's terminal does.

IPython runs a cell's top-level ``await`` with ``loop.run_until_complete`` on a loop
that outlives the cell, with Python's default SIGINT handler: Ctrl-C used to escape
from the loop and leave the run alive on it, driven on by the next cell.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import threading

from scheduler_helpers import Quad, loss

import asynchyper as ah


async def objective(config: Quad) -> float:
    await asyncio.sleep(30)
    return loss(config)


async def run(path: str) -> None:
    await ah.minimize(
        objective, Quad, trials=10, concurrency=3, storage=path, suggester=ah.Random()
    )


async def states(path: str) -> list[str]:
    async with ah.open_study(Quad, storage=path) as study:
        return [t.state.value for t in await study.trials()]


if __name__ == "__main__":
    loop = asyncio.new_event_loop()
    threading.Timer(1.0, os.kill, (os.getpid(), signal.SIGINT)).start()
    try:
        loop.run_until_complete(run(sys.argv[1]))  # a cell
    except KeyboardInterrupt:
        print("KeyboardInterrupt", flush=True)
    loop.run_until_complete(asyncio.sleep(1.0))  # the next cell: nothing may run on
    print("states", *loop.run_until_complete(states(sys.argv[1])), flush=True)
