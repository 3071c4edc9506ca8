"""Ask/tell: drive a study from your own loop.

Useful when trials are not function calls: jobs on a cluster queue, results arriving
by message, a human in the loop. Here a pool of simulated workers takes trials from
the study, results come back in any order (the script counts how many overtook an
earlier trial), some jobs fail and are told as failures with ``error=``, and the study
keeps every running trial as *pending* so that TPE spreads new asks away from them. A
configuration you already know is worth trying goes first with ``enqueue``, and so
does a partial one (``x1`` given, ``x2`` left to the suggester).

Run it with ``python examples/ask_tell.py``.
"""

from __future__ import annotations

import math
import os
import random
from typing import Annotated

import anyio
import attrs

import asynchyper as ah


@attrs.frozen(kw_only=True)
class Branin:
    x1: Annotated[float, ah.Float(-5.0, 10.0)]
    x2: Annotated[float, ah.Float(0.0, 15.0)]


def branin(cfg: Branin) -> float:
    b, c, t = 5.1 / (4 * math.pi**2), 5 / math.pi, 1 / (8 * math.pi)
    return (cfg.x2 - b * cfg.x1**2 + c * cfg.x1 - 6) ** 2 + 10 * (1 - t) * math.cos(cfg.x1) + 10


async def main(budget: int, workers: int) -> None:
    rng = random.Random(0)
    send, receive = anyio.create_memory_object_stream[tuple[ah.Trial[Branin], float | None]]()

    async def worker(trial: ah.Trial[Branin]) -> None:
        await anyio.sleep(rng.uniform(0.001, 0.02))  # results arrive out of order
        value = None if rng.random() < 0.05 else branin(trial.config)  # None: job crashed
        await send.send((trial, value))

    async with ah.open_study(Branin, name="branin", suggester=ah.TPE(), seed=0) as study:
        await study.enqueue(Branin(x1=3.0, x2=3.0))  # a hunch: evaluated first
        await study.enqueue({"x1": 9.5})  # half a hunch: TPE chooses x2 (at random, so early)
        completed = in_flight = out_of_order = 0
        highest_told = -1
        async with anyio.create_task_group() as group:
            while completed < budget:
                # Keep every worker busy while the budget lasts.
                while in_flight < workers and completed + in_flight < budget:
                    group.start_soon(worker, await study.ask())
                    in_flight += 1
                trial, value = await receive.receive()
                in_flight -= 1
                out_of_order += trial.number < highest_told  # a later trial was told first
                highest_told = max(highest_told, trial.number)
                if value is None:
                    await study.tell(trial, error="the job crashed on its node")
                else:
                    await study.tell(trial, value, attrs={"worker": "simulated"})
                    completed += 1
        result = await study.result()

    failed = [t for t in result.trials if t.state is ah.TrialState.FAILED]
    first, second = result.trials[:2]
    print(f"trial 0 was the enqueued {first.config}: {first.state.value}, value {first.value}")
    print(f"trial 1 was the enqueued x1=9.5 with x2={second.config.x2:.3f} chosen")
    print(
        f"{len(result.completed)} completed, {len(failed)} failed; "
        f"{out_of_order} of {len(result.trials)} results were told after a later trial's"
    )
    print(f"a failure keeps its reason: {failed[0].error!r}" if failed else "no failure")
    print(f"best {result.best.value:.4f} (optimum 0.397887) at {result.best.config}")


if __name__ == "__main__":
    quick = bool(os.environ.get("ASYNCHYPER_QUICK"))
    anyio.run(main, 60 if quick else 120, 4)
