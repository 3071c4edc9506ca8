"""Spaces and objectives for the Dask executor tests.

Module level on purpose: Dask workers import them by name.
"""

from __future__ import annotations

import asyncio
import os
import sys
import threading
import time
from typing import Annotated, Any, Literal

import attrs
from distributed import get_worker

import asynchyper as ah
from asynchyper._executor._remote import worker_objectives

#: Released at the end of each test; hanging objectives wait on it (in-process workers).
RELEASE = threading.Event()
#: Longest a hanging objective waits, in case a test forgets to release it.
HANG_SECONDS = 20.0


@attrs.frozen(kw_only=True)
class Quad:
    """A small mixed space."""

    x: Annotated[float, ah.Float(-5.0, 5.0)]
    n: Annotated[int, ah.Int(1, 10)]
    kind: Literal["a", "b"]


def loss(config: Quad) -> float:
    """A deterministic value of a configuration."""
    return (config.x - 1.0) ** 2 + config.n + (0.5 if config.kind == "b" else 0.0)


def where_objective(config: Quad) -> float:
    """Reports the process, the Dask worker and the trial it saw."""
    trial = ah.current_trial()
    trial.set_attr("pid", os.getpid())
    trial.set_attr("worker", get_worker().address)
    trial.set_attr("number_seen", trial.number)
    return loss(config)


async def async_objective(config: Quad) -> float:
    """An ``async def`` objective: runs under asyncio.run inside the worker."""
    await asyncio.sleep(0)
    ah.current_trial().set_attr("worker", get_worker().address)
    return loss(config)


def failing_objective(config: Quad) -> float:
    """Sets an attribute, then raises inside the worker."""
    ah.current_trial().set_attr("before_failure", True)
    msg = f"bad x {config.x:.3f}"
    raise ValueError(msg)


def hanging_objective(config: Quad) -> float:
    """Blocks (a call Dask cannot interrupt) until the test releases it."""
    RELEASE.wait(HANG_SECONDS)
    return loss(config)


def killing_objective(config: Quad) -> float:
    """Kills its own worker process for trial 0, as a segfault or the OOM killer would."""
    if ah.current_trial().number == 0:
        os._exit(1)
    return loss(config)


def killing_behind_a_queued_trial_objective(config: Quad) -> float:
    """Trial 0 kills its worker process once another trial waits in that worker's queue."""
    if ah.current_trial().number == 0:
        worker = get_worker()
        deadline = time.monotonic() + HANG_SECONDS
        while time.monotonic() < deadline:
            tasks = list(worker.state.tasks.values())
            if any(t.state == "ready" and str(t.key).startswith("asynchyper-") for t in tasks):
                break  # another trial waits for this worker's only thread
            time.sleep(0.01)
        os._exit(1)
    return loss(config)


def exiting_objective(how: str) -> int:
    """Records its worker process, then leaves through ``sys.exit()`` or Ctrl-C."""
    ah.current_trial().set_attr("pid", os.getpid())
    if how == "exit":
        sys.exit(3)
    raise KeyboardInterrupt


def lock_returning_objective(config: Quad) -> Any:
    """Returns a value that cannot be pickled back to the study."""
    ah.current_trial().set_attr("ran", True)
    return threading.Lock()


class BoundData:
    """An objective holding ``size`` bytes that keeps the running trial's ``x`` on
    itself for a while: trials sharing one object would see each other's. Reports the
    pickles its worker process was given."""

    def __init__(self, size: int, scale: float = 1.0) -> None:
        self.data = bytes(size)
        self.scale = scale
        self.current: float | None = None

    def __call__(self, config: Quad) -> float:
        self.current = config.x
        time.sleep(0.05)  # meanwhile other trials run in the worker's other threads
        trial = ah.current_trial()
        trial.set_attr("shared", self.current != config.x)
        trial.set_attr("payloads", worker_objectives.stored)
        trial.set_attr("pid", os.getpid())
        return self.scale * loss(config)


def often_killing_objective(config: Quad) -> float:
    """Kills its own worker process in every even-numbered trial (out of memory on some
    configurations, say)."""
    if ah.current_trial().number % 2 == 0:
        os._exit(1)
    return loss(config)
