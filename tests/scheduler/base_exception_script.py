"""A study on SQLite whose first trial raises a BaseException that is not an error.

Run as ``python base_exception_script.py BACKEND WAY DB`` with
``ASYNCHYPER_TEST_BASE_KIND`` set to ``generator_exit`` or ``custom``; ``WAY`` is
``thread`` (a thread objective) or ``executor`` (an async objective awaiting
``loop.run_in_executor``, asyncio only). Two trials run at once, so the other one's
storage write is in flight when the exception arrives. Prints what ``minimize``
raised and each trial's state; must not hang.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from typing import Annotated

import anyio
import attrs

import asynchyper as ah


@attrs.frozen(kw_only=True)
class Space:
    x: Annotated[float, ah.Float(0.0, 1.0)]


class Stop(BaseException):
    """A custom BaseException."""


def raise_it() -> None:
    if os.environ["ASYNCHYPER_TEST_BASE_KIND"] == "generator_exit":
        raise GeneratorExit
    msg = "custom"
    raise Stop(msg)


def objective(config: Space) -> float:
    if ah.current_trial().number == 0:
        raise_it()
    time.sleep(0.5)
    return config.x


async def async_objective(config: Space) -> float:
    if ah.current_trial().number == 0:
        await asyncio.get_running_loop().run_in_executor(None, raise_it)
    await anyio.sleep(0.5)
    return config.x


async def main() -> None:
    way, path = sys.argv[2], sys.argv[3]
    try:
        if way == "thread":
            await ah.minimize(objective, Space, trials=4, concurrency=2, storage=path,
                              executor="thread", progress=False)  # fmt: skip
        else:
            await ah.minimize(async_objective, Space, trials=4, concurrency=2, storage=path,
                              progress=False)  # fmt: skip
    except BaseException as exc:  # what minimize raised is the output
        print("raised", type(exc).__name__)
    async with ah.SQLiteStorage(path) as storage:
        study = await storage.get_study("Space")
        for trial in await storage.trials(study.id):
            last = (trial.error or "").strip().rsplit("\n", 1)[-1]
            print("trial", trial.number, trial.state.name, last)


if __name__ == "__main__":
    anyio.run(main, backend=sys.argv[1])
