"""Crash safety and multi-process use of the SQLite store, with real processes.

A child process runs trials on a SQLite file and prints each trial only after
``finish_trial`` returned; the parent SIGKILLs it at a random moment, many times,
and checks after every kill that nothing printed was lost and nothing is corrupt.
"""

from __future__ import annotations

import contextlib
import os
import random
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import anyio
import pytest
from storage_crash_child import value_of

from asynchyper import SQLiteStorage, TrialState

CHILD = str(Path(__file__).with_name("storage_crash_child.py"))
#: Kill rounds; raise with ASYNCHYPER_CRASH_ROUNDS (e.g. in a nox session).
ROUNDS = int(os.environ.get("ASYNCHYPER_CRASH_ROUNDS", "25"))


class Child:
    """A running child process whose stdout lines are collected by a thread."""

    def __init__(self, *args: str) -> None:
        self.process = subprocess.Popen(
            [sys.executable, CHILD, *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for raw in self.process.stdout:
            line = raw.decode()
            if line.endswith("\n"):  # a line cut by the kill was never fully reported
                self.lines.append(line)

    def wait_for_output(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while not self.lines and self.process.poll() is None:
            if time.monotonic() > deadline:
                pytest.fail("the child printed nothing in time")
            time.sleep(0.005)

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()  # reap it, so its pid no longer looks alive
        self._reader.join()
        self._close()

    def _close(self) -> str:
        assert self.process.stdout is not None
        assert self.process.stderr is not None
        self.process.stdout.close()
        with self.process.stderr as stderr:
            return stderr.read().decode()

    def finish(self, timeout: float) -> None:
        self.process.wait(timeout=timeout)  # stdout belongs to the reader thread
        self._reader.join()
        errors = self._close()
        assert self.process.returncode == 0, errors

    def reported(self) -> dict[int, float]:
        out: dict[int, float] = {}
        for line in self.lines:
            number, value = line.split()
            out[int(number)] = float(value)
        return out


def integrity(path: Path) -> list[tuple[str]]:
    with contextlib.closing(sqlite3.connect(path)) as conn:
        return conn.execute("PRAGMA integrity_check").fetchall()


async def recover(path: Path) -> tuple[list[int], int, dict[int, tuple[TrialState, float | None]]]:
    """Fail the dead child's trials; return them, the next number and every trial."""
    async with SQLiteStorage(path) as storage:
        if not [study.name for study in await storage.list_studies()]:
            return [], 0, {}  # killed before it created the study
        study = await storage.get_study("crash")
        # The dead child is on this host, so liveness decides at once, whatever its
        # heartbeat age.
        failed = await storage.fail_stale(study.id, older_than=3600.0)
        counts = await storage.count_trials(study.id)
        assert counts[TrialState.RUNNING] == 0
        trials = await storage.trials(study.id)
        assert [t.number for t in trials] == list(range(len(trials)))
        assert counts == {s: sum(t.state is s for t in trials) for s in TrialState}
        return failed, len(trials), {t.number: (t.state, t.value) for t in trials}


@pytest.mark.slow
def test_sigkill_at_random_moments_loses_no_told_result(tmp_path: Path) -> None:
    seed = random.randrange(2**32)
    rng = random.Random(seed)
    path = tmp_path / "crash.db"
    durable: dict[int, float] = {}
    next_number = 0
    for round_number in range(ROUNDS):
        backend = "trio" if round_number % 2 else "asyncio"
        child = Child(str(path), backend, "forever")
        if round_number % 5 == 0:
            time.sleep(rng.uniform(0.2, 0.6))  # sometimes kill during start-up or opening
        else:
            child.wait_for_output(timeout=30.0)
            time.sleep(rng.uniform(0.0, 0.15))
        child.kill()
        context = f"round {round_number} ({backend}), seed {seed}"

        if not path.exists():
            continue  # killed before it created the file
        assert integrity(path) == [("ok",)], context
        failed, total, trials = anyio.run(recover, path)
        reported = child.reported()
        assert min(reported, default=next_number) >= next_number, context
        durable.update(reported)
        for number, value in durable.items():
            assert trials[number] == (TrialState.COMPLETE, value), (context, number)
        for number in failed:
            assert trials[number][0] is TrialState.FAILED, context
        assert total >= next_number, context
        next_number = total
    assert durable, "no child ever finished a trial; the kills came too early"
    assert max(durable) < next_number


@pytest.mark.slow
def test_reopening_after_a_crash_continues_numbering(tmp_path: Path) -> None:
    path = tmp_path / "resume.db"
    child = Child(str(path), "asyncio", "forever")
    child.wait_for_output(timeout=30.0)
    child.kill()
    _, total, _ = anyio.run(recover, path)
    survivor = Child(str(path), "trio", "5")
    survivor.finish(timeout=60.0)
    assert sorted(survivor.reported()) == list(range(total, total + 5))


@pytest.mark.slow
def test_four_processes_share_one_file(tmp_path: Path) -> None:
    path = tmp_path / "shared.db"
    # Four processes (two on asyncio, two on trio) each ask for up to 300 trials of a
    # shared budget of 800; their start-ups also race to create the file and study.
    children = [Child(str(path), ("asyncio", "trio")[i % 2], "300", "800") for i in range(4)]
    for child in children:
        child.finish(timeout=120.0)
    numbers = sorted(n for child in children for n in child.reported())
    assert numbers == list(range(800))
    print("trials per process:", [len(child.reported()) for child in children])

    async def check() -> None:
        async with SQLiteStorage(path) as storage:
            study = await storage.get_study("crash")
            trials = await storage.trials(study.id)
            assert [t.number for t in trials] == list(range(800))
            assert all(t.state is TrialState.COMPLETE for t in trials)
            assert all(t.value == value_of(t.number) for t in trials)

    anyio.run(check)
    assert integrity(path) == [("ok",)]
