"""A study whose objective calls sys.exit(4) or raises KeyboardInterrupt.

Run as ``python exit_script.py BACKEND EXECUTOR`` with ``ASYNCHYPER_TEST_EXIT_KIND`` set
to ``exit`` or ``interrupt`` (worker processes inherit the environment, not the
arguments): the program must end with the objective's exit code (4) or
``KeyboardInterrupt``, not hang at exit.
"""

from __future__ import annotations

import os
import sys
from typing import Annotated, Literal

import anyio
import attrs

import asynchyper as ah


@attrs.frozen(kw_only=True)
class Space:
    x: Annotated[float, ah.Float(0.0, 1.0)]


def objective(config: Space) -> float:
    if os.environ["ASYNCHYPER_TEST_EXIT_KIND"] == "exit":
        sys.exit(4)
    raise KeyboardInterrupt


async def main() -> None:
    executor: Literal["thread", "process"] = "process" if sys.argv[2] == "process" else "thread"
    await ah.minimize(objective, Space, trials=3, concurrency=2, executor=executor)


if __name__ == "__main__":
    anyio.run(main, backend=sys.argv[1])
