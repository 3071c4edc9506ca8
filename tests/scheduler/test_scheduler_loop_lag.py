"""An expensive suggester must not stall the event loop."""

from __future__ import annotations

import math
import os
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from typing import Any

import anyio
import numpy as np
import pytest
from scheduler_helpers import Quad, loss

import asynchyper as ah
from asynchyper._scheduler import _study
from asynchyper._types import JSONScalar, Params

pytestmark = pytest.mark.anyio

SUGGEST_SECONDS = 0.04


class Slow(ah.Suggester):
    """Burns CPU in Python for SUGGEST_SECONDS per call, like a big TPE fit."""

    def __init__(self, every: int = 1) -> None:
        self.threads: list[str] = []  # where each costly call ran
        self.every = every  # only every `every`-th call is costly
        self.calls = 0

    def suggest(
        self,
        space: ah.Space[Any],
        history: ah.History,
        pending: Sequence[Params],
        rng: np.random.Generator,
        k: int = 1,
    ) -> list[dict[str, JSONScalar]]:
        self.calls += 1
        if self.calls % self.every == 1 or self.every == 1:
            self.threads.append(threading.current_thread().name)
            end = time.perf_counter() + SUGGEST_SECONDS
            while time.perf_counter() < end:
                pass
        return [space.sample(rng) for _ in range(k)]


async def stalls_during_a_run(suggester: Slow, trials: int = 12) -> float:
    """Total seconds the loop was late by more than half a suggest during a run."""
    stalled = 0.0
    done = False

    async def monitor() -> None:
        nonlocal stalled
        while not done:
            before = time.perf_counter()
            await anyio.sleep(0.002)
            late = time.perf_counter() - before - 0.002
            if late > SUGGEST_SECONDS / 2:
                stalled += late

    async def objective(config: Quad) -> float:
        await anyio.sleep(0.005)
        return loss(config)

    async with anyio.create_task_group() as group:
        group.start_soon(monitor)
        await ah.minimize(objective, Quad, trials=trials, concurrency=2, suggester=suggester)
        done = True
    return stalled


async def test_an_expensive_suggest_runs_off_the_event_loop(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Hand the GIL over quickly, so the probe measures the loop, not the GIL.
    previous = sys.getswitchinterval()
    sys.setswitchinterval(0.0005)
    try:
        await _compare(monkeypatch)
    finally:
        sys.setswitchinterval(previous)


async def _compare(monkeypatch: pytest.MonkeyPatch) -> None:
    suggester = Slow()
    offloaded = await stalls_during_a_run(suggester)
    on_loop = threading.current_thread().name
    # Every call runs off the event loop's thread, the first too (its cost is unknown).
    assert len(suggester.threads) == 12
    assert on_loop not in suggester.threads
    monkeypatch.setattr(_study, "SUGGEST_OFFLOAD_SECONDS", math.inf)
    inline = await stalls_during_a_run(Slow())
    # On the loop, the 12 suggests stall it for about 12 * 40 ms: the probe sees stalls.
    assert inline >= 8 * SUGGEST_SECONDS
    # Off the loop, only GIL hand-over delays remain.
    assert offloaded < inline / 2, f"{offloaded=:.3f} s, {inline=:.3f} s"


def test_a_suggester_that_is_costly_now_and_then_stays_off_the_loop() -> None:
    # Cheap calls between costly ones pulled a running average under the threshold,
    # so every costly refit after the first ran on the loop.
    suggester = Slow(every=5)
    anyio.run(stalls_during_a_run, suggester, 21)
    assert len(suggester.threads) == 5
    assert threading.current_thread().name not in suggester.threads


class Prepared(ah.Random):
    """Records the thread ``prepare`` runs on and whether it ran before any suggest."""

    def __init__(self) -> None:
        super().__init__()
        self.prepared_on: list[str] = []
        self.suggested_before_prepare = False

    def prepare(self, space: ah.Space[Any]) -> None:
        self.prepared_on.append(threading.current_thread().name)

    def suggest(
        self,
        space: ah.Space[Any],
        history: ah.History,
        pending: Sequence[Params],
        rng: np.random.Generator,
        k: int = 1,
    ) -> list[dict[str, JSONScalar]]:
        self.suggested_before_prepare |= not self.prepared_on
        return super().suggest(space, history, pending, rng, k)


async def test_a_suggesters_one_time_set_up_runs_once_off_the_event_loop() -> None:
    suggester = Prepared()
    await ah.minimize(quad_objective, Quad, trials=5, concurrency=2, suggester=suggester)
    assert suggester.prepared_on != []
    assert len(suggester.prepared_on) == 1
    assert suggester.prepared_on[0] != threading.current_thread().name
    assert not suggester.suggested_before_prepare


async def quad_objective(config: Quad) -> float:
    return loss(config)


def test_opening_a_tpe_study_imports_scipy_special_off_the_loop() -> None:
    # The first model fit used to import scipy.special (about 0.3 s) on the event loop.
    script = """
import sys, anyio, asynchyper as ah
from scheduler_helpers import Quad
assert "scipy.special" not in sys.modules, "imported by import asynchyper"
async def main():
    async with ah.open_study(Quad) as study:
        assert "scipy.special" in sys.modules, "not imported when the study opened"
anyio.run(main)
"""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    done = subprocess.run(
        [sys.executable, "-c", script],
        check=False,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr


async def test_a_resumed_studys_backlog_is_read_off_the_event_loop(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Adding 20,000 stored trials to the history (and decoding them for trials()) held
    # the loop for 0.3-0.6 s: a service's other requests waited that long.
    monkeypatch.setattr(_study, "OFFLOAD_ROWS", 5)
    storage = ah.MemoryStorage()
    await ah.minimize(loss_of, Quad, trials=12, storage=storage, suggester=ah.Random())
    loop_thread = threading.current_thread().name
    added: list[str] = []
    decoded: list[str] = []
    original_add = ah.History.add

    def add(self: ah.History, params: Params, value: float | None) -> None:
        added.append(threading.current_thread().name)
        original_add(self, params, value)

    monkeypatch.setattr(ah.History, "add", add)
    async with ah.open_study(Quad, storage=storage, suggester=ah.Random()) as study:
        original_decode = study.space.decode

        def decode(params: Params) -> Quad:
            decoded.append(threading.current_thread().name)
            return original_decode(params)

        monkeypatch.setattr(study.space, "decode", decode)
        await study.tell(await study.ask(), 1.0)
        before = len(decoded)
        trials = await study.trials()
    assert len(trials) == 13
    assert len(added) >= 12
    assert loop_thread not in added[:12]  # the 12 stored ones, in a worker thread
    assert len(decoded) - before == 12  # the 12 stored ones (the new trial's is kept)...
    assert loop_thread not in decoded[before:]  # ...decoded off the loop


async def loss_of(config: Quad) -> float:
    return loss(config)
