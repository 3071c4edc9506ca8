"""Run plain (blocking) objectives in worker threads."""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import functools
import math
import os
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, nullcontext
from typing import Any

import anyio
import anyio.lowlevel
import anyio.to_thread

from .._backend import on_asyncio
from .._errors import ExecutorError
from ._base import Executor
from ._checks import check_max_workers
from ._context import TrialContext, use_trial_context
from ._inspect import is_async_callable

_async_library: contextvars.ContextVar[str | None] | None
try:
    from sniffio import current_async_library_cvar as _async_library
except ImportError:  # pragma: no cover - recent anyio releases do without sniffio
    _async_library = None

__all__ = ["ThreadExecutor"]


def _call_soon_threadsafe() -> Callable[..., object]:
    """``f(fn, *args)`` schedules ``fn(*args)`` on the calling task's event loop from any
    thread, without waiting for it (unlike ``anyio.from_thread.run_sync``, which would
    block forever once that loop has stopped running)."""
    if on_asyncio():
        return asyncio.get_running_loop().call_soon_threadsafe
    import trio  # noqa: PLC0415 - not on asyncio, so trio is installed and running

    return trio.lowlevel.current_trio_token().run_sync_soon


class ThreadExecutor(Executor):
    """Runs plain functions in worker threads (the default for non-async objectives).

    Good for objectives that release the GIL (NumPy, PyTorch, I/O); pure-Python
    CPU-bound code should use :class:`ProcessExecutor`.

    A thread cannot be stopped from outside: when a trial is cancelled (its
    ``trial_timeout`` expires or the study is cancelled) the trial is recorded at once
    and its thread is *abandoned* - it keeps running until the function returns, and
    its result is discarded; until then it keeps its place among ``max_workers``
    (trials waiting for that place count the wait toward their ``trial_timeout``). The
    threads are daemon threads: one still running does not keep the interpreter alive
    at exit, it is dropped with the process. A function that never returns holds its
    thread (and its ``max_workers`` place) as long as the process lives; make such
    objectives check a deadline themselves, or use :class:`ProcessExecutor`, whose
    workers are killed.

    Args:
        max_workers: Most threads running objectives at once; ``None`` lets the
            study's ``concurrency`` alone decide.

    Raises:
        ValueError: ``max_workers`` is not a positive integer.
    """

    _timed_out = "was abandoned: a thread cannot be stopped, it runs on until the function returns"

    def __init__(self, max_workers: int | None = None) -> None:
        check_max_workers(max_workers)
        self.max_workers = max_workers
        self._limiter: anyio.CapacityLimiter | None = None
        self._threads: anyio.CapacityLimiter | None = None

    def __repr__(self) -> str:
        return f"ThreadExecutor(max_workers={self.max_workers!r})"

    async def start(self) -> None:
        """Create the limiters (they must belong to the running event loop)."""
        tokens: float = math.inf if self.max_workers is None else self.max_workers
        self._limiter = anyio.CapacityLimiter(tokens)
        # Threads themselves are not limited (anyio's default would cap them at 40):
        # ``_limiter`` counts objective calls, until each one really returns.
        self._threads = anyio.CapacityLimiter(math.inf)

    async def stop(self) -> None:
        """Forget the limiters; threads still running are left to finish."""
        self._limiter = None
        self._threads = None
        # As anyio's worker threads end with their event loop's run: idle threads do not
        # outlive the run by _IDLE_SECONDS (a fork() then warns on Python >= 3.12).
        _Pool.drain()

    def check(self, objective: Callable[..., Any], *, config: Any = None) -> None:
        """Reject ``async def`` objectives, which belong on the event loop.

        Args:
            objective: The objective to run.
            config: Unused.

        Raises:
            ExecutorError: ``objective`` is a coroutine function.
        """
        del config
        if is_async_callable(objective):
            msg = (
                f"executor='thread' cannot run the async objective {objective!r}: async "
                "objectives run on the event loop; drop executor= (or make the objective "
                "a plain def)"
            )
            raise ExecutorError(msg)

    async def run(
        self,
        objective: Callable[[Any], Any],
        config: Any,
        context: Any,
    ) -> Any:
        """Call ``objective(config)`` in a worker thread with ``context`` installed.

        Args:
            objective: A plain function.
            config: The configuration to evaluate.
            context: The trial's :class:`TrialContext`.

        Returns:
            The objective's raw return value.
        """
        assert isinstance(context, TrialContext)
        if self._limiter is None or self._threads is None:
            await self.start()
        limiter, threads = self._limiter, self._threads
        assert limiter is not None
        assert threads is not None
        # The call holds its place in ``max_workers`` until the function returns, also
        # when the trial is cancelled and its thread abandoned: the place is freed once,
        # by whichever of this task and the function ends last (by this task when the
        # function never started; it then never starts).
        borrower = object()
        asyncio_loop = on_asyncio()
        soon = _call_soon_threadsafe()
        await limiter.acquire_on_behalf_of(borrower)
        call = _Call(objective, config, context, soon=soon, limiter=limiter, borrower=borrower)
        try:
            if asyncio_loop:
                # anyio's threads are not daemon threads there: at exit, the interpreter
                # would wait for an abandoned call that never returns. Ours are.
                await anyio.lowlevel.checkpoint_if_cancelled()
                # As anyio runs a function in a thread: in a copy of this task's context,
                # minus the marker that says an event loop runs (the objective may start
                # one of its own).
                thread_context = contextvars.copy_context()
                if _async_library is not None:
                    thread_context.run(_async_library.set, None)
                call.notify = True
                # The scope that anyio.from_thread.check_cancelled() looks at from the
                # thread: cancelled with the trial (its timeout, the run's cancellation).
                with anyio.CancelScope() as host_scope:
                    _start_soon(thread_context.run, call, _as_worker_thread(host_scope))
                    await call.returned.wait()
            else:  # trio's threads (anyio's on trio) are daemon threads already
                await anyio.to_thread.run_sync(
                    _call_and_tell, call, nullcontext(), abandon_on_cancel=True, limiter=threads
                )
        finally:
            if call.leave():
                limiter.release_on_behalf_of(borrower)
        exception, call.exception = call.exception, None
        if exception is None:
            return call.value
        # Raised here, not thrown into this task: a GeneratorExit thrown into it would
        # close every coroutine on its await chain, cleanup included.
        try:
            raise exception
        finally:
            del exception


# What makes a thread an "AnyIO worker thread", where ``anyio.from_thread.run()``,
# ``run_sync()`` and ``check_cancelled()`` find their way back to the event loop and
# the host task's cancel scope without a token, as in the threads of
# ``anyio.to_thread.run_sync``. Private to anyio (the same throughout anyio 4): should
# it go, those calls need ``token=`` in objectives, and check_cancelled() fails.
try:
    from anyio._core._eventloop import claim_worker_thread, get_async_backend, threadlocals
except ImportError:  # pragma: no cover - a later anyio

    def _as_worker_thread(scope: anyio.CancelScope) -> AbstractContextManager[object]:
        del scope
        return nullcontext()

else:

    def _as_worker_thread(scope: anyio.CancelScope) -> AbstractContextManager[object]:
        """Marks the thread it is entered in as an anyio worker thread of the calling
        task's event loop, cancelled with ``scope``, while the objective runs there."""
        backend = get_async_backend()
        try:
            claimed = claim_worker_thread(backend, backend.current_token())
        except TypeError:  # pragma: no cover - a later anyio changed its private API
            return nullcontext()
        return _worker_thread(claimed, scope)

    @contextlib.contextmanager
    def _worker_thread(
        claimed: AbstractContextManager[object], scope: anyio.CancelScope
    ) -> Iterator[None]:
        with claimed:
            threadlocals.current_cancel_scope = scope
            try:
                yield
            finally:
                del threadlocals.current_cancel_scope


class _Call:
    """One objective call, called in its thread; shared with the task that waits for it."""

    __slots__ = (
        "_borrower",
        "_config",
        "_context",
        "_gone",
        "_limiter",
        "_lock",
        "_objective",
        "_returned",
        "_soon",
        "_started",
        "exception",
        "notify",
        "returned",
        "value",
    )

    def __init__(
        self,
        objective: Callable[[Any], Any],
        config: Any,
        context: TrialContext,
        *,
        soon: Callable[..., object],
        limiter: anyio.CapacityLimiter,
        borrower: object,
    ) -> None:
        self._objective = objective
        self._config = config
        self._context = context
        self._soon = soon
        self._limiter = limiter
        self._borrower = borrower
        self._lock = threading.Lock()
        self._started = self._returned = self._gone = False
        self.notify = False  # whether to set ``returned`` when the function returned
        self.returned = anyio.Event()
        self.value: Any = None
        self.exception: BaseException | None = None

    def __call__(
        self, as_worker_thread: AbstractContextManager[object]
    ) -> Callable[[], object] | None:
        """In the worker thread: call the objective, unless the trial is gone already.
        Returns what tells the event loop, to be called once the worker is idle again
        (told first, the loop would find no idle worker for its next call, and start
        one more thread)."""
        with self._lock:
            too_late = self._gone
            self._started = not too_late
        if too_late:
            return None  # the trial was cancelled before its thread began
        try:
            with as_worker_thread, use_trial_context(self._context):
                self.value = self._objective(self._config)
        except BaseException as exc:  # raised in the waiting task
            self.exception = exc
        finally:
            with self._lock:
                self._returned = True
                abandoned = self._gone
            if abandoned:  # nobody waits for it: drop the result, free the place
                self.value = self.exception = None
        if abandoned:
            return functools.partial(self._tell, self._limiter.release_on_behalf_of, self._borrower)
        return functools.partial(self._tell, self.returned.set) if self.notify else None

    def _tell(self, function: Callable[..., object], *args: Any) -> None:
        # Without waiting: the event loop may have stopped (then nothing runs it, and
        # nothing needs to) or closed (RuntimeError).
        with contextlib.suppress(RuntimeError):
            self._soon(function, *args)

    def leave(self) -> bool:
        """In the task, once it stops waiting: whether it must free the place itself
        (the function returned, or never started and now never will)."""
        with self._lock:
            self._gone = True
            return self._returned or not self._started


def _call_and_tell(call: _Call, as_worker_thread: AbstractContextManager[object]) -> None:
    """``call`` in a thread that is not ours (trio's), telling the event loop at once."""
    tell = call(as_worker_thread)
    if tell is not None:
        tell()


# Daemon threads, reused: at exit, the interpreter waits for non-daemon threads (those
# of anyio's thread pool on asyncio among them) and so for an abandoned function that
# never returns. A thread idle for _IDLE_SECONDS ends.
_IDLE_SECONDS = 10.0


class _Pool:
    """The idle worker threads of this process, most recently idle last."""

    lock = threading.Lock()
    idle: list[_Worker] = []  # noqa: RUF012 - one pool per process

    @classmethod
    def drain(cls) -> None:
        """End the idle threads."""
        with cls.lock:
            idle, cls.idle = cls.idle, []
        for worker in idle:
            worker.give(None, ())

    @classmethod
    def forget(cls) -> None:
        """After a fork: the parent's threads do not exist in the child."""
        cls.lock = threading.Lock()
        cls.idle = []


if hasattr(os, "register_at_fork"):  # not on Windows
    os.register_at_fork(after_in_child=_Pool.forget)


def _start_soon(function: Callable[..., object], *args: Any) -> None:
    """Call ``function(*args)`` in a daemon thread (an idle one, or a new one); it must
    not raise."""
    with _Pool.lock:
        worker = _Pool.idle.pop() if _Pool.idle else None
    if worker is None:
        _Worker(function, args)
    else:
        worker.give(function, args)


class _Worker:
    """A daemon thread running one call at a time, then waiting to be handed the next."""

    __slots__ = ("_job", "_wake")

    def __init__(self, function: Callable[..., object], args: tuple[Any, ...]) -> None:
        self._job: tuple[Callable[..., object] | None, tuple[Any, ...]] | None = (function, args)
        self._wake = threading.Lock()
        self._wake.acquire()
        # Python 3.14 may hand a new thread a copy of the starter's context: a fresh one
        # (each call runs in its own context anyway).
        fresh: dict[str, Any] = (
            {"context": contextvars.Context()} if sys.version_info >= (3, 14) else {}
        )
        threading.Thread(
            target=self._serve, name="asynchyper objective thread", daemon=True, **fresh
        ).start()

    def give(self, function: Callable[..., object] | None, args: tuple[Any, ...]) -> None:
        """Hand this idle worker its next call (``None``: end)."""
        self._job = (function, args)
        self._wake.release()

    def _serve(self) -> None:
        while True:
            job, self._job = self._job, None
            assert job is not None
            function, args = job
            del job
            if function is None:
                return
            tell = function(*args)
            del function, args  # hold nothing of a finished call while idle
            with _Pool.lock:
                _Pool.idle.append(self)
            if callable(tell):
                tell()
            del tell
            if self._wake.acquire(timeout=_IDLE_SECONDS):
                continue
            with _Pool.lock:
                try:
                    _Pool.idle.remove(self)
                except ValueError:  # taken just now: its call is being handed over
                    pass
                else:
                    return
            self._wake.acquire()
