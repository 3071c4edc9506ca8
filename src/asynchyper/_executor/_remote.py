"""How a trial runs where it is sent (a worker process, a Dask worker) and how its
failure travels back.

Both executors run the objective the same way and send an exception back the same
way: pickled when it can be (so it is re-raised as itself), and always as its name,
message and traceback text (so a class the main process cannot load still says what
happened). They differ only in the pickler: ``pickle`` for worker processes,
``cloudpickle`` for Dask.
"""

from __future__ import annotations

import asyncio
import inspect
import re
import traceback
from collections.abc import Callable
from typing import Any

import attrs

from ._context import TrialContext, mark_raised_by_objective, use_trial_context

__all__ = ["Failure", "call_objective", "rebuild", "short_repr"]


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
