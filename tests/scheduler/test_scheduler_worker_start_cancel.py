"""A trial cancelled while its worker process starts leaves no process behind."""

from __future__ import annotations

import os
import signal
import sys

import anyio
import anyio.to_process
import anyio.to_thread
import pytest
from scheduler_helpers import Quad, cpu_objective

from asynchyper._executor import ProcessExecutor, TrialContext

pytestmark = pytest.mark.anyio


def _worker_children() -> set[int]:
    """This process's children that are anyio worker processes (zombies included)."""
    me = str(os.getpid())
    found: set[int] = set()
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat") as stat:
                text = stat.read()
            with open(f"/proc/{name}/cmdline", "rb") as cmdline:
                command = cmdline.read()
        except OSError:
            continue
        if text[text.rindex(")") + 2 :].split()[1] != me:
            continue
        if b"anyio.to_process" in command or text[text.rindex(")") + 2] == "Z":
            found.add(int(name))
    return found


def _pooled() -> set[int]:
    """The pids of the workers in anyio's pool for the running event loop."""
    try:
        workers = anyio.to_process._process_pool_workers.get()
    except LookupError:
        return set()
    return {process.pid for process in workers}


@pytest.mark.skipif(sys.platform != "linux", reason="reads /proc")
async def test_cancel_while_a_worker_starts_leaves_no_process() -> None:
    """A trial cancelled while its new worker process starts kills that worker.

    anyio re-raises such a cancellation without killing the worker, which then waited
    on its stdin for ever: a live process per cancelled start on asyncio (hundreds of
    MB after a few dozen studies with ``timeout=``), a zombie on trio.
    """
    before = _worker_children()
    executor = ProcessExecutor(max_workers=1)
    context = TrialContext(study="s", number=0, params={})
    config = Quad(x=0.0, n=1, kind="a")
    async with executor, anyio.create_task_group() as group:
        group.start_soon(executor.run, cpu_objective, config, context)
        for _ in range(10_000):  # until anyio has started the worker (10 s at most)
            if _worker_children() - before:
                break
            await anyio.sleep(0.001)
        # Started (open_process returned), not READY yet: its interpreter takes 0.1 s.
        await anyio.sleep(0.02)
        group.cancel_scope.cancel()
    leaked: set[int] = set()
    for _ in range(100):  # a killed worker is reaped within moments
        leaked = _worker_children() - before - _pooled()
        if not leaked:
            break
        await anyio.sleep(0.02)
    for pid in leaked:  # do not leave them to the other tests
        try:
            os.kill(pid, signal.SIGKILL)
            await anyio.to_thread.run_sync(os.waitpid, pid, 0)
        except (ProcessLookupError, ChildProcessError):
            pass
    assert not leaked
