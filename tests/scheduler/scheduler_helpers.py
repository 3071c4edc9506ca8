"""Spaces and objectives shared by the scheduler tests.

Module level on purpose: worker processes import them by name.
"""

from __future__ import annotations

import asyncio
import logging
import os
import subprocess
import sys
import threading
import time
import warnings
from collections.abc import Collection, Sequence
from pathlib import Path
from typing import Annotated, Any, Literal

import attrs
import numpy as np

import asynchyper as ah
from asynchyper._executor import current_trial
from asynchyper._executor._remote import worker_objectives
from asynchyper._types import JSONScalar, Params


@attrs.frozen(kw_only=True)
class Quad:
    """A small mixed space."""

    x: Annotated[float, ah.Float(-5.0, 5.0)]
    n: Annotated[int, ah.Int(1, 10)]
    kind: Literal["a", "b"]


def loss(config: Quad) -> float:
    """A deterministic value of a configuration."""
    return (config.x - 1.0) ** 2 + config.n + (0.5 if config.kind == "b" else 0.0)


def cpu_objective(config: Quad) -> float:
    """A plain function for the process executor; reports where it ran."""
    current_trial().set_attr("pid", os.getpid())
    current_trial().set_attr("number_seen", current_trial().number)
    return loss(config)


def failing_process_objective(config: Quad) -> float:
    """Raises inside the worker process."""
    current_trial().set_attr("before_failure", True)
    msg = f"bad x {config.x:.3f}"
    raise ValueError(msg)


def hanging_process_objective(config: Quad) -> float:
    """Sleeps far longer than any test's trial_timeout."""
    del config
    time.sleep(60)
    return 0.0


class Recording(ah.Suggester):
    """Random draws, recording the pending trials and the history each call saw."""

    def __init__(self) -> None:
        self.pending_sizes: list[int] = []
        self.pending_seen: list[list[dict[str, JSONScalar]]] = []
        self.history_seen: list[tuple[int, int]] = []  # (finished rows, failed rows)

    def suggest(
        self,
        space: ah.Space[Any],
        history: ah.History,
        pending: Sequence[Params],
        rng: np.random.Generator,
        k: int = 1,
    ) -> list[dict[str, JSONScalar]]:
        self.pending_sizes.append(len(pending))
        self.pending_seen.append([dict(p) for p in pending])
        self.history_seen.append((len(history), int(np.isnan(history.y).sum())))
        return [space.sample(rng) for _ in range(k)]


class TwoArgError(Exception):
    """Pickles in the worker, but cannot be unpickled: ``__init__`` needs two arguments."""

    def __init__(self, code: int, detail: str) -> None:
        super().__init__(f"{code}: {detail}")
        self.code = code


def two_arg_error_objective(config: Quad) -> float:
    """Raises an exception that cannot travel back from the worker process."""
    raise TwoArgError(42, f"disk quota at x={config.x:.3f}")


def unpicklable_return_objective(config: Quad) -> Any:
    """Returns a value that cannot be pickled back from the worker process."""
    del config
    return threading.Lock()


def pid_file_objective(config: Quad) -> float:
    """For the process executor: leaves its worker's pid in a file, then runs an hour.

    The directory is ``$ASYNCHYPER_TEST_PID_DIR`` (workers inherit the environment).
    """
    directory = Path(os.environ["ASYNCHYPER_TEST_PID_DIR"])
    (directory / f"{os.getpid()}.pid").write_text(str(os.getpid()))
    time.sleep(3600)
    return loss(config)


def noisy_objective(config: Quad) -> float:
    """Writes to file descriptor 1 as subprocesses and C libraries (LightGBM) do."""
    subprocess.run([sys.executable, "-c", "print('a subprocess prints')"], check=True)
    os.write(1, b"a C library prints\n")
    return loss(config)


def stderr_flood_objective(config: Quad) -> float:
    """Writes 256 KiB to file descriptor 2, as a chatty C library or subprocess may."""
    line = b"." * 1023 + b"\n"
    for _ in range(256):
        os.write(2, line)
    return loss(config)


def stdin_reader_objective(config: Quad) -> float:
    """Starts a background subprocess that reads its stdin and is not waited for."""
    subprocess.Popen(
        [sys.executable, "-c", "import sys; sys.stdin.read()"], stdout=subprocess.DEVNULL
    )
    return loss(config)


def printing_objective(config: Quad) -> float:
    """Reports through Python's streams, as objectives do: print, warnings, logging."""
    print("a print from the objective")
    print("a print to sys.stderr", file=sys.stderr)
    warnings.warn("a warning from the objective", stacklevel=1)
    logging.getLogger("objective").warning("a log record from the objective")
    return loss(config)


#: How often a BoundData was pickled in this process (the study's).
BOUND_PICKLED = {"count": 0}


class BoundData:
    """A process objective holding ``size`` bytes of data: counts its picklings here,
    reports the pickles its worker was given, and keeps an event-loop-bound semaphore
    on itself (made by its first call) as a client session would be."""

    def __init__(self, size: int, scale: float = 1.0) -> None:
        self.data = bytes(size)
        self.scale = scale
        self.semaphore: asyncio.Semaphore | None = None

    def __getstate__(self) -> dict[str, Any]:
        BOUND_PICKLED["count"] += 1
        return self.__dict__

    async def _hold(self) -> None:
        assert self.semaphore is not None
        async with self.semaphore:  # a wait binds it to this trial's event loop
            await asyncio.sleep(0)

    async def __call__(self, config: Quad) -> float:
        if self.semaphore is None:
            self.semaphore = asyncio.Semaphore(1)
        await asyncio.gather(self._hold(), self._hold())  # the second one waits
        current_trial().set_attr("payloads_in_worker", worker_objectives.stored)
        current_trial().set_attr("pid", os.getpid())
        return self.scale * loss(config)


class LoadsBadly(BoundData):
    """Pickles in the study process, fails to load in a worker."""

    def __setstate__(self, state: dict[str, Any]) -> None:
        msg = "this objective cannot be loaded here"
        raise RuntimeError(msg)


class CountingReads(ah.MemoryStorage):
    """Counts the trials it hands out through trials(), and the enqueue_trial calls."""

    read = 0
    enqueued = 0

    async def trials(
        self,
        study_id: int,
        *,
        states: Collection[ah.TrialState] | None = None,
        changed_after: int | None = None,
    ) -> list[ah.TrialRecord]:
        found = await super().trials(study_id, states=states, changed_after=changed_after)
        self.read += len(found)
        return found

    async def enqueue_trial(
        self, study_id: int, params: Params, *, unless_holding: Params | None = None
    ) -> ah.TrialRecord:
        self.enqueued += 1
        return await super().enqueue_trial(study_id, params, unless_holding=unless_holding)
