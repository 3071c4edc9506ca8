"""Run CPU-bound objectives in worker processes."""

from __future__ import annotations

import contextlib
import ctypes
import inspect
import io
import os
import pickle
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from typing import Any

import anyio
import anyio.to_process
import attrs
from anyio.lowlevel import RunVar

from .._errors import ExecutorError
from .._types import JSONInput
from ._base import Executor, ReturnValueError
from ._checks import check_max_workers
from ._context import TrialContext
from ._remote import (
    Failure,
    Shipment,
    Shipments,
    call_objective,
    load_objective,
    rebuild,
    short_repr,
    worker_objectives,
)

__all__ = ["ProcessExecutor", "WorkerDiedError"]


class WorkerDiedError(RuntimeError):
    """The worker process running a trial died (killed, crashed, out of memory)."""


@attrs.frozen
class _ProcessOutcome:
    """What a worker process sends back. The value travels as a pickle made in the
    worker, so that one that cannot be pickled (or unpickled here) fails its trial
    instead of the transport."""

    attrs: dict[str, JSONInput]
    value: bytes | None = None
    failure: Failure | None = None
    value_problem: str | None = None
    #: The worker does not hold the objective: send it again with its payload.
    missing: bool = False


def _dumps(obj: object) -> bytes:
    return pickle.dumps(obj, pickle.HIGHEST_PROTOCOL)


#: How often (seconds) a worker process looks whether the study process is still there.
PARENT_CHECK_SECONDS = 1.0
#: In a worker: the study process it serves, once the worker is prepared.
_prepared: dict[str, int] = {}


#: The worker processes anyio started for the calling task's current ``run_sync`` call.
_started: ContextVar[list[Any] | None] = ContextVar("asynchyper_started_workers", default=None)


def _hook_worker_starts() -> None:
    """Let a ``run_sync`` call see the worker process anyio starts for it (once per process).

    anyio (4.x) re-raises a cancellation that arrives while a new worker is starting
    (waiting for its ``READY``, or sending it the main module) without killing the
    worker or putting it in its pool: the worker then waits on its stdin for ever (on
    asyncio: a live Python process, its pipes and a waitpid thread per cancelled
    start; on trio: a zombie). :meth:`ProcessExecutor.run` kills what it started.
    """
    module: Any = anyio.to_process  # run_sync looks open_process up there at each call
    original = module.open_process
    if getattr(original, "_asynchyper_hook", False):
        return

    async def open_process(*args: Any, **kwargs: Any) -> Any:
        process = await original(*args, **kwargs)
        started = _started.get()
        if started is not None:
            started.append(process)
        return process

    open_process._asynchyper_hook = True  # type: ignore[attr-defined]
    module.open_process = open_process


async def _kill_unfinished(started: list[Any]) -> None:
    """Kill and reap the workers a cancelled (or broken) call started and anyio left running.

    anyio kills (and reaps) a worker cancelled while running a trial; one still
    running here never got as far as the pool (it was cancelled while starting).
    """
    with anyio.CancelScope(shield=True):
        for process in started:
            if process.returncode is not None:
                continue
            with contextlib.suppress(ProcessLookupError, OSError):
                process.kill()
            with contextlib.suppress(Exception):
                await process.aclose()


def _prepare_worker(parent: int) -> None:
    """In a worker, before its first trial: route its stderr, watch the study process."""
    if _prepared:
        return
    _prepared["parent"] = parent
    _redirect_stderr(parent)
    _python_streams_to_stderr()
    _watch_parent(parent)


def _redirect_stderr(parent: int) -> None:
    """Point the worker's file descriptor 2 where the study process's stderr goes.

    anyio gives each worker a stderr pipe that nobody reads: once the objectives'
    C libraries or subprocesses had written some 64 to 192 KiB there, the next write
    blocked and the trial hung. The study's own stderr (found through ``/proc`` on
    Linux) shows that output; elsewhere it is discarded.
    """
    try:
        target = os.open(f"/proc/{parent}/fd/2", os.O_WRONLY | os.O_APPEND)
    except OSError:
        try:
            target = os.open(os.devnull, os.O_WRONLY)
        except OSError:
            return
    try:
        os.dup2(target, 2)
    finally:
        os.close(target)


def _watch_parent(parent: int) -> None:
    """In a worker: exit as soon as the study process that started it is gone.

    A study process that is killed (SIGKILL, the OOM killer, a job scheduler) cannot
    stop its workers, and they would run their objective to the end (hours of
    training on a GPU) for nobody. Only armed when ``parent`` is this worker's parent
    process, so a worker started through a wrapper process is left alone.
    """
    if os.getppid() != parent:
        return

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(PARENT_CHECK_SECONDS)
        os._exit(1)  # the objective is abandoned: nobody can record its result

    threading.Thread(target=watch, name="asynchyper parent watchdog", daemon=True).start()


def _flush_c_stdio() -> None:
    """Flush the C library's stdio buffers (what a C extension printed and not flushed)."""
    # No C library to load by name (Windows): nothing to flush.
    with contextlib.suppress(OSError, AttributeError, TypeError):
        ctypes.CDLL(None).fflush(None)


@contextlib.contextmanager
def _shield_worker_channel() -> Iterator[None]:
    """While the objective runs, its file descriptor 1 is the worker's stderr, and its
    file descriptor 0 is ``/dev/null``.

    The worker answers the study process on its stdout: anything else written there (a
    subprocess's output, a C library's printf such as LightGBM's) would corrupt the
    answer, and the trial would fail as if its worker had died. On stderr (see
    :func:`_redirect_stderr`) it stays visible. The worker reads its next trial on its
    stdin: a subprocess the objective starts in the background would inherit it and
    could eat that request (the study then waits forever), so it gets ``/dev/null``.
    Python's ``sys.stdout`` and ``sys.stderr`` are the worker's stderr (see
    :func:`_python_streams_to_stderr`).
    """
    try:
        saved_out, saved_in = os.dup(1), os.dup(0)
        null = os.open(os.devnull, os.O_RDONLY)
    except OSError:  # no file descriptor 0 or 1: nothing to protect
        yield
        return
    try:
        os.dup2(2, 1)
        os.dup2(null, 0)
        yield
    finally:
        _flush_c_stdio()
        os.dup2(saved_out, 1)
        os.dup2(saved_in, 0)
        for fd in (saved_out, saved_in, null):
            os.close(fd)


def _python_streams_to_stderr() -> None:
    """Point ``sys.stdout`` and ``sys.stderr`` at the worker's file descriptor 2.

    anyio's worker sets ``sys.stdout`` to ``/dev/null`` (its answers go to the saved
    original): an objective's ``print``, warnings and logging would vanish. Written to
    file descriptor 2 they reach the study process's stderr (Linux), line by line.
    """
    with contextlib.suppress(OSError):
        stream = open(  # noqa: SIM115 - lives as long as the worker
            2, "w", buffering=1, encoding="utf-8", errors="backslashreplace", closefd=False
        )
        sys.stdout = sys.stderr = stream


def _run_in_process(
    shipment: Shipment, config: Any, context: TrialContext, parent: int
) -> _ProcessOutcome:
    """Entry point inside the worker: run the trial, ship everything back."""
    _prepare_worker(parent)
    # What loading raises goes back as the transport's failure, as anyio's own
    # unpickling of a trial would.
    objective = load_objective(shipment, pickle.loads)
    if objective is None:
        return _ProcessOutcome({}, missing=True)
    try:
        return _run_trial(objective, config, context)
    finally:
        worker_objectives.release(shipment.token)


def _run_trial(
    objective: Callable[[Any], Any], config: Any, context: TrialContext
) -> _ProcessOutcome:
    with _shield_worker_channel():
        value, failure = call_objective(objective, config, context, _dumps)
    user_attrs = dict(context.user_attrs)
    if failure is not None:
        return _ProcessOutcome(user_attrs, failure=failure)
    try:
        payload = _dumps(value)
    except Exception as exc:  # reported as the trial's failure
        problem = (
            f"objective returned {type(value).__qualname__} {short_repr(value)}; expected a "
            f"float or asynchyper.Evaluation(value, attrs) (it cannot be pickled back from "
            f"the worker process: {exc})"
        )
        return _ProcessOutcome(user_attrs, value_problem=problem)
    return _ProcessOutcome(user_attrs, value=payload)


class _Unpickler(pickle.Unpickler):
    """Loads what a worker pickled: its ``__mp_main__`` is this process's ``__main__``."""

    def find_class(self, module: str, name: str) -> Any:
        return super().find_class("__main__" if module == "__mp_main__" else module, name)


def _load(payload: bytes) -> Any:
    return _Unpickler(io.BytesIO(payload)).load()


def _value_of(outcome: _ProcessOutcome, number: int) -> Any:
    """The objective's return value; ``ReturnValueError`` when it cannot be brought back."""
    if outcome.value_problem is not None:
        raise ReturnValueError(outcome.value_problem)
    assert outcome.value is not None
    try:
        return _load(outcome.value)
    except Exception as exc:
        msg = (
            f"the value returned by trial {number}'s objective cannot be loaded in the "
            f"main process ({type(exc).__name__}: {exc}); return a float or "
            "asynchyper.Evaluation(value, attrs)"
        )
        raise ReturnValueError(msg) from exc


def _main_module_usable() -> bool:
    """Whether worker processes can load ``__main__`` (it is a file, as anyio requires)."""
    path = getattr(sys.modules.get("__main__"), "__file__", None)
    return bool(path) and os.path.isfile(str(path))


class _MainFinder(pickle.Pickler):
    """Pickles an object only to list the functions and classes of ``__main__`` it needs."""

    def __init__(self) -> None:
        super().__init__(io.BytesIO(), pickle.HIGHEST_PROTOCOL)
        self.found: list[str] = []

    def reducer_override(self, obj: Any) -> Any:
        named = isinstance(obj, type) or inspect.isroutine(obj)
        if named and getattr(obj, "__module__", None) == "__main__":
            name = getattr(obj, "__qualname__", repr(obj))
            if name not in self.found:
                self.found.append(name)
        return NotImplemented


def _main_names(obj: object) -> list[str]:
    """Names of the ``__main__`` functions and classes that pickling ``obj`` refers to."""
    finder = _MainFinder()
    finder.dump(obj)
    return finder.found


class ProcessExecutor(Executor):
    """Runs plain functions in a pool of worker processes (``executor="process"``).

    For pure-Python CPU-bound objectives, which threads cannot run in parallel. The
    objective and each configuration are pickled, so the objective must be a
    module-level function and the space class importable; scripts that define them in
    ``__main__`` need an ``if __name__ == "__main__":`` guard, and a ``__main__`` with
    no file (an interactive session, a notebook, ``python -c``) cannot hold them. This
    is checked before any trial starts. ``async def`` objectives are run with
    ``asyncio.run`` inside the worker.

    An exception raised by the objective fails its trial with the worker's traceback;
    it is re-raised as itself when it can be unpickled here, otherwise by its type name
    and message. A return value that cannot be pickled back fails its trial too.

    When a trial is cancelled (``trial_timeout`` or a cancelled study) its worker
    process is killed (SIGKILL) and replaced on the next trial. Workers are reused by
    later runs on the same event loop, with the code and environment they started
    with; idle ones exit when the event loop ends, or are replaced by a later trial
    that finds them idle for more than five minutes. A worker whose study process was
    killed exits within about a second, abandoning its trial. The objective, with any
    data bound to it, is pickled once per run (by :meth:`check`, or the first trial when
    :meth:`run` is called directly) and sent once to each worker, which keeps the pickle
    (dropped a minute after its last trial ended) and loads a fresh copy of the
    objective from it for every trial, as if it came with the trial: trials never share
    an objective object, and a change made to the objective in this process during the
    run does not reach the workers. Data too big to copy into every worker is better
    loaded there (a module-level global, or a path the objective opens).

    Args:
        max_workers: Most worker processes at once; ``None`` means one per CPU core.
            Trials beyond that wait for a free worker (their ``trial_timeout``
            includes the wait, and the first trial in each new worker also pays for
            starting it and importing the objective's module: seconds for a module
            that imports scikit-learn; leave that margin).

    Raises:
        ValueError: ``max_workers`` is not a positive integer.
    """

    _timed_out = "its worker process was killed"

    def __init__(self, max_workers: int | None = None) -> None:
        check_max_workers(max_workers)
        self.max_workers = max_workers
        # One limiter per event loop, like anyio's default one: never reset under a run.
        self._limiters: RunVar[anyio.CapacityLimiter] = RunVar("asynchyper_process_limiter")
        self._shipments = Shipments(_dumps)  # the objective pickled once per run
        self._users = 0  # runs between start() and stop()

    def __repr__(self) -> str:
        return f"ProcessExecutor(max_workers={self.max_workers!r})"

    async def start(self) -> None:
        """Count a run that uses this executor (see :meth:`stop`)."""
        self._users += 1

    def _limiter(self) -> anyio.CapacityLimiter:
        """This event loop's limiter of worker processes."""
        if self.max_workers is None:
            return anyio.to_process.current_default_process_limiter()
        try:
            return self._limiters.get()
        except LookupError:
            limiter = anyio.CapacityLimiter(self.max_workers)
            self._limiters.set(limiter)
            return limiter

    async def stop(self) -> None:
        """When the last run using this executor stops, forget the pickled objectives
        (the worker pool is shut down with the event loop)."""
        self._users = max(0, self._users - 1)
        if not self._users:
            self._shipments.clear()

    def check(self, objective: Callable[..., Any], *, config: Any = None) -> None:
        """Check that the objective (and an example configuration) can be pickled.

        Args:
            objective: The objective to run.
            config: An example configuration, when known.

        Raises:
            ExecutorError: Either cannot be pickled, or needs a function or class of a
                ``__main__`` that worker processes cannot load (an interactive session,
                a notebook, ``python -c``, a script read from stdin); the message says
                how to fix it.
        """
        try:
            self._shipments.fresh(objective, self._users + 1)  # the run sends this pickle
        except Exception as exc:
            msg = (
                f"executor='process' cannot send the objective {objective!r} to a worker "
                f"process: it cannot be pickled ({exc}). Define it as a module-level "
                "function (not a lambda, closure or local function), or use "
                "executor='thread'"
            )
            raise ExecutorError(msg) from exc
        if config is not None:
            try:
                pickle.dumps(config)
            except Exception as exc:
                msg = (
                    f"executor='process' cannot send configurations of "
                    f"{type(config).__qualname__} to a worker process: they cannot be "
                    f"pickled ({exc}). Define the space class at module level, or use "
                    "executor='thread'"
                )
                raise ExecutorError(msg) from exc
        if not _main_module_usable():
            _check_not_in_main(objective, config)

    async def run(
        self,
        objective: Callable[[Any], Any],
        config: Any,
        context: Any,
    ) -> Any:
        """Call ``objective(config)`` in a worker process with ``context`` installed.

        Attributes the objective sets through ``current_trial()`` are copied back into
        ``context``. An exception raised in the worker is re-raised here with the
        worker's traceback as its cause (as a stand-in carrying its type name and
        message when it cannot be unpickled here).

        Args:
            objective: A module-level function.
            config: The configuration to evaluate (picklable).
            context: The trial's :class:`TrialContext`.

        Returns:
            The objective's raw return value.

        Raises:
            WorkerDiedError: The worker process died while running the trial.
            ExecutorError: The trial cannot be sent to a worker (pickled here, or
                loaded there).
            ReturnValueError: The objective's return value cannot be brought back.
            Exception: Whatever the objective raised (or a stand-in, see above).
        """
        assert isinstance(context, TrialContext)
        _hook_worker_starts()
        shipment = self._shipments.get(objective, self._users)
        outcome = await self._call(shipment.lean(), config, context)
        if outcome.missing:  # that worker does not hold the pickle yet
            outcome = await self._call(shipment, config, context)
        context.user_attrs.update(outcome.attrs)
        if outcome.failure is not None:
            raise rebuild(outcome.failure, _load)
        return _value_of(outcome, context.number)

    async def _call(
        self, shipment: Shipment, config: Any, context: TrialContext
    ) -> _ProcessOutcome:
        """One request to a worker process, its failures translated (see :meth:`run`)."""
        started: list[Any] = []
        token = _started.set(started)
        try:
            try:
                outcome = await anyio.to_process.run_sync(
                    _run_in_process,
                    shipment,
                    config,
                    context,
                    os.getpid(),
                    cancellable=True,
                    limiter=self._limiter(),
                )
            except (anyio.BrokenWorkerProcess, anyio.get_cancelled_exc_class()):
                # Neither leaves a worker this call started in anyio's pool.
                await _kill_unfinished(started)
                raise
            finally:
                _started.reset(token)
        except anyio.BrokenWorkerProcess as exc:
            failure = _main_module_failure(exc)
            if failure is not None:
                raise _main_module_error(failure) from exc
            msg = (
                f"the worker process running trial {context.number} died (killed, crashed "
                "or out of memory)"
            )
            raise WorkerDiedError(msg) from exc
        except Exception as exc:
            # The objective's own failures come back inside the outcome: this is the
            # transport (pickling the trial here, or loading it in the worker).
            msg = (
                f"executor='process' cannot send trial {context.number} to a worker "
                f"process: {type(exc).__name__}: {exc}. The objective must be a "
                "module-level function and the space class importable by the workers; "
                "or use executor='thread'"
            )
            raise ExecutorError(msg) from exc
        assert isinstance(outcome, _ProcessOutcome)
        return outcome


#: What anyio raises when a new worker's transport (not the worker's code) fails.
_TRANSPORT_ERRORS = (
    TimeoutError,
    anyio.BrokenWorkerProcess,
    anyio.EndOfStream,
    anyio.BrokenResourceError,
    anyio.ClosedResourceError,
)


def _main_module_failure(exc: anyio.BrokenWorkerProcess) -> BaseException | None:
    """The exception a new worker raised while loading the main module, if that is why
    it is broken.

    anyio starts each worker by running the parent's main script in it (as
    ``__mp_main__``); what that raises comes back as the cause of the broken worker.
    A worker that died, or did not answer in time, has a transport error there instead.
    """
    cause = exc.__cause__
    if "initialization" not in str(exc) or isinstance(cause, _TRANSPORT_ERRORS):
        return None  # a worker that died while running a trial, or a transport failure
    return cause


def _main_module_error(failure: BaseException) -> ExecutorError:
    """The error naming what the main module raised in a worker, and the fix."""
    module = sys.modules.get("__main__")
    path = getattr(module, "__file__", None)
    # say each thing once: no "the main script the main module" when there is no file
    main = f"the main script {path}" if path else "the main module"
    text = str(failure)
    raised = type(failure).__name__ + (f": {text}" if text else "")
    spec = getattr(module, "__spec__", None)
    if isinstance(failure, ImportError) and "relative import" in text and path and spec is not None:
        # `python -m package.module`: workers run the file by path, outside its package.
        name = spec.name.removesuffix(".__main__")
        msg = (
            "executor='process' cannot start a worker process: each worker runs the main "
            f"module {path} as a file to load the objective, outside its package, so "
            f"its relative imports fail ({raised}). `python -m {name}` is fine if that "
            "module imports absolutely (`from package import x`, not `from . import x`); "
            "or move the objective and the space class into another module; or use "
            "executor='thread'"
        )
        return ExecutorError(msg)
    start = (
        f"executor='process' cannot start a worker process: each worker runs {main} to "
        "load the objective"
    )
    alternatives = "move the objective and the space class into a module; or use executor='thread'"
    if isinstance(failure, ExecutorError) and "cannot start a worker process" in text:
        # The main module started a study in the worker too, whose own worker failed:
        # quoting that message would repeat this one inside itself.
        msg = (
            f"{start}, and there its module-level code started a study of its own. Put the "
            f'code that starts the study under `if __name__ == "__main__":`, or {alternatives}'
        )
    elif "__name__ ==" in text:  # the failure already gives the guard as its fix
        msg = f"{start}, and there it raised {raised}. Follow that advice, or {alternatives}"
    else:
        msg = (
            f"{start}, and there it raised {raised}. Put the code that starts the study "
            'under `if __name__ == "__main__":` (module-level code must run without the '
            f"script's command-line arguments), or {alternatives}"
        )
    return ExecutorError(msg)


def _check_not_in_main(objective: Callable[..., Any], config: Any) -> None:
    """Refuse work that refers to ``__main__`` when ``__main__`` has no file."""
    where = (
        "__main__, which has no file here (an interactive session, a notebook, "
        "`python -c` or a script read from stdin), so worker processes cannot import it"
    )
    names = _main_names(objective)
    if names:
        msg = (
            f"executor='process' cannot run the objective {objective!r}: it needs "
            f"{', '.join(names)} from {where}. Move them (and the space class) into a "
            "module file and import them from there, or use executor='thread'"
        )
        raise ExecutorError(msg)
    names = _main_names(config) if config is not None else []
    if names:
        msg = (
            f"executor='process' cannot send configurations of "
            f"{type(config).__qualname__} to a worker process: they need "
            f"{', '.join(names)} from {where}. Define the space class in a module file "
            "and import it from there, or use executor='thread'"
        )
        raise ExecutorError(msg)
