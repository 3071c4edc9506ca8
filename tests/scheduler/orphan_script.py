"""Run by test_scheduler_sigint: a study whose worker processes run trials for an hour.

The test kills this process with SIGKILL; its workers must not run on without it.
"""

from __future__ import annotations

import sys

import anyio
from scheduler_helpers import Quad, pid_file_objective

import asynchyper as ah


async def main(path: str) -> None:
    await ah.minimize(
        pid_file_objective,
        Quad,
        trials=4,
        concurrency=2,
        storage=path,
        executor=ah.ProcessExecutor(max_workers=2),
        progress=False,
    )


if __name__ == "__main__":
    anyio.run(main, sys.argv[1], backend=sys.argv[2])
