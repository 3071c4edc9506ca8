"""The group-commit queue when a waiting writer's coroutine is closed.

A ``GeneratorExit`` thrown into a task closes every coroutine on its await chain; a
writer closed while it waited must leave the queue in order: it hung every later
write when it stayed at the head of the queue, woken to lead a batch it never ran.
The coroutines are stepped by hand (``send``/``close``), as that task would be.
"""

from __future__ import annotations

from typing import Any

import anyio
import pytest

from asynchyper._storage._groupcommit import PendingWrites, QueuedWrite

pytestmark = pytest.mark.parametrize("anyio_backend", ["asyncio"])


def _recorded(batches: list[list[QueuedWrite]], release: anyio.Event) -> Any:
    """A transaction that records its batch and ends once ``release`` is set."""

    async def run(batch: list[QueuedWrite]) -> None:
        batches.append(batch)
        await release.wait()

    return run


@pytest.mark.anyio
async def test_a_closed_writer_hands_on_the_lead_and_later_writes_go_through(
    anyio_backend: str,
) -> None:
    pending: PendingWrites[QueuedWrite] = PendingWrites(max_batch=10)
    batches: list[list[QueuedWrite]] = []
    release = anyio.Event()
    run = _recorded(batches, release)
    first, closed, later = QueuedWrite(), QueuedWrite(), QueuedWrite()
    async with anyio.create_task_group() as group:
        group.start_soon(pending.commit, first, run)  # leads the first batch
        await anyio.wait_all_tasks_blocked()
        waiting = pending.commit(closed, run)
        waiting.send(None)  # queued behind the first batch, waiting
        group.start_soon(pending.commit, later, run)
        await anyio.wait_all_tasks_blocked()
        assert len(pending) == 2
        release.set()  # the first batch ends and wakes `closed` to lead the next one
        await anyio.wait_all_tasks_blocked()
        waiting.close()  # ...but its coroutine is closed instead
        await anyio.wait_all_tasks_blocked()
        stuck = not later.done  # it waited forever: nobody led the next batch
        if stuck:
            later.wake.set()  # let it lead, so that this test fails instead of hanging
    assert not stuck
    assert [len(batch) for batch in batches] == [1, 1]
    assert batches[1] == [later]
    assert later.done
    assert not closed.done
    assert len(pending) == 0


@pytest.mark.anyio
async def test_a_writer_closed_while_its_batch_commits_leaves_the_queue_alone(
    anyio_backend: str,
) -> None:
    pending: PendingWrites[QueuedWrite] = PendingWrites(max_batch=10)
    batches: list[list[QueuedWrite]] = []
    gates = [anyio.Event(), anyio.Event()]

    async def run(batch: list[QueuedWrite]) -> None:
        batches.append(batch)
        await gates[len(batches) - 1].wait()

    first, second, closed = QueuedWrite(), QueuedWrite(), QueuedWrite()
    async with anyio.create_task_group() as group:
        group.start_soon(pending.commit, first, run)
        await anyio.wait_all_tasks_blocked()
        group.start_soon(pending.commit, second, run)
        await anyio.wait_all_tasks_blocked()
        waiting = pending.commit(closed, run)
        waiting.send(None)  # queued behind `second`
        gates[0].set()  # `second` leads the next batch: itself and `closed`
        await anyio.wait_all_tasks_blocked()
        assert batches[1] == [second, closed]
        try:
            waiting.close()  # closed while its write is being committed: was a ValueError
        finally:
            gates[1].set()  # the batch ends either way (no hang if this test fails)
    assert second.done
    assert closed.done  # committed all the same; nobody waited for it
    assert len(pending) == 0
