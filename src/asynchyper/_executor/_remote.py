"""How a trial runs where it is sent (a worker process, a Dask worker) and how its
failure travels back.

Both executors run the objective the same way and send an exception back the same
way: pickled when it can be (so it is re-raised as itself), and always as its name,
message and traceback text (so a class the main process cannot load still says what
happened). They differ only in the pickler: ``pickle`` for worker processes,
``cloudpickle`` for Dask. Both send the objective the same way too: pickled once per
run in the study process (:class:`Shipments`), sent once to each worker, which keeps
the pickle and loads each trial's own copy from it (:class:`ObjectiveCache`).
"""

from __future__ import annotations

import asyncio
import inspect
import re
import threading
import time
import traceback
import uuid
from collections.abc import Callable
from typing import Any

import attrs

from ._context import TrialContext, mark_raised_by_objective, use_trial_context

__all__ = [
    "OBJECTIVE_IDLE_SECONDS",
    "SMALL_OBJECTIVE_BYTES",
    "Failure",
    "ObjectiveCache",
    "Shipment",
    "Shipments",
    "call_objective",
    "load_objective",
    "rebuild",
    "short_repr",
    "worker_objectives",
]


class _RemoteTraceback(Exception):
    """Carries the worker's traceback text as the cause of a re-raised exception."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.text = text

    def __str__(self) -> str:
        return f'\n"""\n{self.text}"""'


class _RemoteError(Exception):
    """Stands in for a worker exception that could not be brought back as itself."""


#: A worker process loads the user's script as ``__mp_main__``; show its classes as
#: the user wrote them.
_MP_MAIN = re.compile(r"^__mp_main__\.", re.MULTILINE)


@attrs.frozen
class Failure:
    """An objective's exception as it travels back from where it ran.

    Attributes:
        pickled: The exception pickled where it was raised, or ``None`` when it could
            not be.
        name: ``"Type: message"``, for when the exception cannot come back as itself.
        text: The traceback where it was raised.
    """

    pickled: bytes | None
    name: str
    text: str

    @classmethod
    def of(cls, exc: BaseException, dumps: Callable[[BaseException], bytes]) -> Failure:
        """Capture ``exc`` where it was raised.

        Args:
            exc: The objective's exception.
            dumps: The pickler of the transport (``pickle.dumps``, ``cloudpickle.dumps``).

        Returns:
            The failure, with the pickle when ``dumps`` could make one.
        """
        try:
            pickled: bytes | None = bytes(dumps(exc))
        except Exception:  # the name and text stand in for it
            pickled = None
        try:
            message = str(exc)
        except Exception:  # a broken __str__ must not lose the failure
            message = "<exception str() failed>"
        name = _type_name(type(exc)) + (f": {message}" if message else "")
        text = _MP_MAIN.sub("", "".join(traceback.format_exception(exc)))
        return cls(pickled, name, text)


def rebuild(failure: Failure, loads: Callable[[bytes], Any]) -> BaseException:
    """The exception of ``failure``: itself when ``loads`` can load it, else a stand-in
    named after it; either way with the remote traceback as its cause.

    Args:
        failure: What the worker sent.
        loads: The unpickler matching the worker's ``dumps``.

    Returns:
        The exception to raise.
    """
    error: BaseException | None = None
    if failure.pickled is not None:
        try:
            loaded = loads(failure.pickled)
        except Exception:  # e.g. a class missing here, or an __init__ its args cannot call
            loaded = None
        if isinstance(loaded, BaseException):
            error = loaded
    if error is None:
        error = _RemoteError(failure.name)
    error.__cause__ = _RemoteTraceback(failure.text)
    mark_raised_by_objective(error)  # a failure is what the objective raised
    return error


def call_objective(
    objective: Callable[[Any], Any],
    config: Any,
    context: TrialContext,
    dumps: Callable[[BaseException], bytes],
) -> tuple[Any, Failure | None]:
    """Run a trial where it was sent, with its context installed.

    Every failure of the objective is the trial's, ``sys.exit()`` and Ctrl-C included,
    so the worker lives on.

    Args:
        objective: The objective; an ``async def`` one runs with ``asyncio.run``.
        config: The configuration.
        context: The trial's context (its attributes are read back by the caller).
        dumps: The pickler of the transport, for the exception.

    Returns:
        ``(value, None)``, or ``(None, failure)`` when the objective raised.
    """
    with use_trial_context(context):
        try:
            value = objective(config)
            if inspect.iscoroutine(value):
                value = asyncio.run(value)
        except BaseException as exc:
            return None, Failure.of(exc, dumps)
    return value, None


def short_repr(value: object) -> str:
    """``repr(value)``, cut to 80 characters for messages (a failing ``repr`` too)."""
    try:
        text = repr(value)
    except Exception as exc:  # a message about a bad value must not fail itself
        return f"<{type(value).__qualname__} object; its repr raised {type(exc).__name__}>"
    return text if len(text) <= 80 else text[:77] + "..."


def _type_name(cls: type) -> str:
    """A class's name as a traceback shows it (``DivergedError``, ``numpy.AxisError``)."""
    if cls.__module__ in ("__main__", "__mp_main__", "builtins"):
        return cls.__qualname__
    return f"{cls.__module__}.{cls.__qualname__}"


@attrs.frozen
class Shipment:
    """The objective as a trial sends it: pickled once per run, sent once per worker.

    ``token`` names one pickling of one objective; a worker that already holds that
    pickle loads the trial's objective from its copy, so data bound to the objective
    crosses to each worker once instead of with every trial. ``payload`` is ``None``
    when the study process expects the worker to hold it already.
    """

    token: str
    payload: bytes | None

    def lean(self) -> Shipment:
        """What a trial sends first: the payload when it is small (sending it costs
        less than asking first whether the worker holds it), else the token alone."""
        if self.payload is not None and len(self.payload) <= SMALL_OBJECTIVE_BYTES:
            return self
        return Shipment(self.token, None)


#: Objectives pickled to at most this many bytes travel with every trial.
SMALL_OBJECTIVE_BYTES = 64 * 1024
#: A worker drops a pickle that no trial used for this long (seconds).
OBJECTIVE_IDLE_SECONDS = 60.0


class Shipments:
    """In the study process: each objective pickled once per run.

    :meth:`fresh` pickles anew (an executor's ``check`` before each run), so that a
    run sends the objective as it is when the run starts, also after a run that
    failed before its first trial; :meth:`get` reuses that pickle for every trial.

    Args:
        dumps: The pickler (``pickle`` for worker processes, ``cloudpickle`` for Dask).
    """

    def __init__(self, dumps: Callable[[Any], bytes]) -> None:
        self._dumps = dumps
        # key -> (objective, shipment), oldest first: the objective is kept so that
        # the ids in its key cannot be reused by other objects meanwhile.
        self._kept: dict[tuple[int, ...], tuple[Any, Shipment]] = {}

    def fresh(self, objective: Any, keep: int = 1) -> Shipment:
        """Pickle ``objective`` now, under a new token, and keep that and the ``keep
        - 1`` most recent others (one per run using the executor: a run whose pickle
        was dropped pickles again at its next trial).

        Raises:
            Exception: Whatever the pickler raises.
        """
        shipment = Shipment(uuid.uuid4().hex, bytes(self._dumps(objective)))
        key = _key(objective)
        self._kept.pop(key, None)
        while self._kept and len(self._kept) >= max(keep, 1):
            del self._kept[next(iter(self._kept))]
        self._kept[key] = (objective, shipment)
        return shipment

    def get(self, objective: Any, keep: int = 1) -> Shipment:
        """``objective``'s kept shipment, with its payload (pickled if there is none).

        Raises:
            Exception: Whatever the pickler raises.
        """
        kept = self._kept.get(_key(objective))
        return kept[1] if kept is not None else self.fresh(objective, keep)

    def clear(self) -> None:
        """Forget every payload."""
        self._kept.clear()


def _key(objective: Any) -> tuple[int, ...]:
    # A bound method is a new object at each attribute lookup: keyed by its parts.
    if inspect.ismethod(objective):
        return (id(objective.__self__), id(objective.__func__))
    return (id(objective),)


class ObjectiveCache:
    """In a worker: the pickles of the objectives it was sent, by shipment token.

    Each trial loads its own objective from the pickle (as when the pickle came with
    every trial), so trials never share an objective object: not concurrent ones in
    the threads of a Dask worker, and not one trial's event loop with the next. At
    most ``size`` pickles are kept (the least recently used goes first, before a new
    one is stored), and one that no running trial uses and no trial has ended with for
    ``idle`` seconds is dropped by :meth:`expire`.

    Attributes:
        stored: How many pickles this cache has been given (a count for tests and
            debugging: one per run and worker when each worker is sent it once).
    """

    def __init__(
        self,
        size: int = 1,
        idle: float = OBJECTIVE_IDLE_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._size = size
        self._idle = idle
        self._clock = clock
        self._lock = threading.Lock()
        self._expiring = False
        # token -> [pickle, trials using it, when the last one ended]
        self._entries: dict[str, list[Any]] = {}
        self.stored = 0

    def __contains__(self, token: str) -> bool:
        with self._lock:
            return token in self._entries

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)

    def acquire(self, token: str) -> bytes | None:
        """The pickle of ``token``, in use until :meth:`release` (and now the most
        recently used); ``None`` if not held."""
        with self._lock:
            entry = self._entries.pop(token, None)
            if entry is None:
                return None
            entry[1] += 1
            self._entries[token] = entry
            payload: bytes = entry[0]
            return payload

    def add(self, token: str, payload: bytes) -> None:
        """Hold ``payload`` as ``token``, in use until :meth:`release`, after dropping
        the least recently used beyond ``size - 1`` (in use or not: a trial that
        loaded its objective no longer needs the pickle)."""
        with self._lock:
            entry = self._entries.pop(token, None)
            if entry is None:
                self.stored += 1
                while self._entries and len(self._entries) >= self._size:
                    del self._entries[next(iter(self._entries))]
                entry = [payload, 0, self._clock()]
            entry[1] += 1
            self._entries[token] = entry

    def release(self, token: str) -> None:
        """A trial that acquired or added ``token`` has ended."""
        with self._lock:
            entry = self._entries.get(token)
            if entry is not None:
                entry[1] = max(0, entry[1] - 1)
                entry[2] = self._clock()

    def expire(self) -> None:
        """Drop the pickles unused for ``idle`` seconds (none while a trial runs)."""
        now = self._clock()
        with self._lock:
            stale = [
                key
                for key, (_, running, ended) in self._entries.items()
                if not running and now - ended >= self._idle
            ]
            for key in stale:
                del self._entries[key]

    def start_expiring(self) -> None:
        """Call :meth:`expire` in a daemon thread from now on (once per cache)."""
        with self._lock:
            if self._expiring:
                return
            self._expiring = True

        def expire() -> None:
            while True:
                time.sleep(self._idle / 10)
                self.expire()

        threading.Thread(target=expire, name="asynchyper objective expiry", daemon=True).start()


#: In a worker (a process of the process executor, or a Dask worker's process): the
#: pickles of the objectives it was sent.
worker_objectives = ObjectiveCache()


def load_objective(shipment: Shipment, loads: Callable[[bytes], Any]) -> Any | None:
    """In a worker: a fresh copy of the shipped objective, loaded from the pickle held
    here or the one the shipment carries (then held for later trials); ``None`` when
    neither has it (the study process then sends it again with the payload). Unless
    ``None``, the pickle is in use until ``worker_objectives.release(token)``.

    Raises:
        Exception: Whatever ``loads`` raises on the payload (the pickle is then
            released).
    """
    worker_objectives.start_expiring()
    payload = worker_objectives.acquire(shipment.token)
    if payload is None:
        if shipment.payload is None:
            return None
        payload = shipment.payload
        worker_objectives.add(shipment.token, payload)
    try:
        return loads(payload)
    except BaseException:
        worker_objectives.release(shipment.token)
        raise
