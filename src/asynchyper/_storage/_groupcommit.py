"""Group commit: writes from many tasks share one transaction.

The SQLite and PostgreSQL stores queue each write here. While a transaction is in
flight, new writes wait; when it ends, the oldest waiter leads the next transaction,
which carries every write queued meanwhile (up to ``max_batch``). The whole protocol
is shielded from cancellation, so a cancelled caller never loses a write that was
already queued and never leaves a batch without a leader.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Generic, TypeVar

import anyio

__all__ = ["PendingWrites", "QueuedWrite"]


class QueuedWrite:
    """One queued write; once its batch committed, its result or error."""

    __slots__ = ("done", "error", "result", "wake")

    def __init__(self) -> None:
        self.result: Any = None
        self.error: BaseException | None = None
        self.done = False
        #: Set when the write is done or its caller must lead the next batch.
        self.wake = anyio.Event()


W = TypeVar("W", bound=QueuedWrite)


class PendingWrites(Generic[W]):
    """The writes waiting for a transaction; ``len()`` counts them.

    Args:
        max_batch: Most writes carried by one transaction.
    """

    def __init__(self, max_batch: int) -> None:
        self._max_batch = max_batch
        self._queue: list[W] = []
        self._writing = False
        self._idle: anyio.Event | None = None

    def __len__(self) -> int:
        return len(self._queue)

    async def commit(self, write: W, run: Callable[[list[W]], Awaitable[None]]) -> None:
        """Queue ``write`` and return once a transaction carrying it ended.

        ``run(batch)`` runs one transaction; the caller that leads a batch runs it.
        Each write's outcome is left in its ``result`` and ``error``: ``run`` sets
        them, and an exception escaping ``run`` becomes the error of every write of
        the batch.
        """
        with anyio.CancelScope(shield=True):
            self._queue.append(write)
            if self._writing:
                try:
                    await write.wake.wait()  # done, or woken to lead the next batch
                except BaseException:
                    # Not cancellation (shielded): the caller's coroutine was closed
                    # (a GeneratorExit thrown into its task). Its write never ran: take
                    # it out of the queue, and hand on the lead if it was this one's.
                    if not write.done:
                        self._withdraw(write)
                    raise
            else:
                self._writing = True
            if not write.done:
                await self._lead(run)

    def _withdraw(self, write: W) -> None:
        """Remove a write that will never run; wake the next leader if it was to lead."""
        if write not in self._queue:
            return  # already in the batch being committed: it runs, nobody waits for it
        leading = write.wake.is_set()
        self._queue.remove(write)
        if leading:
            self._pass_lead()

    def _pass_lead(self) -> None:
        """Wake the oldest waiter to lead the next batch, or mark the queue idle."""
        if self._queue:
            self._queue[0].wake.set()
        else:
            self._writing = False
            if self._idle is not None:
                self._idle.set()
                self._idle = None

    async def _lead(self, run: Callable[[list[W]], Awaitable[None]]) -> None:
        """Run the oldest queued writes as one transaction, then wake their callers."""
        batch = self._queue[: self._max_batch]
        del self._queue[: len(batch)]
        try:
            await run(batch)
        except BaseException as exc:
            for write in batch:
                write.error = exc
            if not isinstance(exc, Exception):
                raise
        finally:
            for write in batch:
                write.done = True
                write.wake.set()
            self._pass_lead()

    async def wait_idle(self) -> None:
        """Wait until no transaction is in flight and nothing is queued."""
        while self._writing:
            if self._idle is None:
                self._idle = anyio.Event()
            await self._idle.wait()
