"""The per-trial context: what an objective can learn about its own trial."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TypeVar, cast

import attrs
import numpy as np

from .._errors import TrialStateError
from .._types import JSONInput, JSONScalar

__all__ = [
    "TrialContext",
    "current_trial",
    "mark_raised_by_objective",
    "raised_by_objective",
    "running_trial",
    "use_trial_context",
]

T_JSON = TypeVar("T_JSON")

#: Set on an exception that the objective raised (not the executor's machinery).
_FROM_OBJECTIVE = "_asynchyper_raised_by_objective"


@attrs.define(kw_only=True)
class TrialContext:
    """The running trial, as seen from inside its objective.

    Obtain it with :func:`current_trial`. It travels with the objective into worker
    threads and worker processes; attributes set with :meth:`set_attr` are stored with
    the trial when it finishes (also when it fails).

    Attributes:
        study: Name of the study the trial belongs to.
        number: The trial's number in its study.
        params: The trial's flat, branch-tagged parameters.
        user_attrs: Attributes set so far with :meth:`set_attr`.
        owner: Identifier of the open study running the trial (``host:pid:token``,
            as :attr:`TrialRecord.owner`), or ``None`` when not known.
    """

    study: str
    number: int
    params: Mapping[str, JSONScalar]
    user_attrs: dict[str, JSONInput] = attrs.field(factory=dict)
    owner: str | None = None

    def set_attr(self, key: str, value: JSONInput) -> None:
        """Attach a JSON-safe user attribute to the trial (e.g. a metric or a log URL).

        Args:
            key: Attribute name.
            value: A JSON-safe value (``str``, ``int``, ``float``, ``bool``, ``None``,
                or lists and dicts of those); NumPy numbers are kept as plain ones.

        Raises:
            TypeError: ``key`` is not a string or ``value`` is not JSON-safe.
        """
        name: object = key
        if not isinstance(name, str):
            msg = f"set_attr() key must be a str; got {type(key).__name__} {key!r}"
            raise TypeError(msg)
        self.user_attrs[key] = json_safe(value, what=f"set_attr({key!r}, ...) value")


def json_safe(value: T_JSON, *, what: str) -> T_JSON:
    """``value`` with NumPy numbers as plain ones, if it survives strict JSON.

    Raises:
        TypeError: Naming ``what``: ``value`` is not JSON-safe.
    """
    plain = _plain(value)
    try:
        json.dumps(plain, allow_nan=False)
    except (TypeError, ValueError) as exc:
        msg = (
            f"{what} must be JSON-safe (str, int, float, bool, None, NumPy numbers, lists "
            f"and dicts of those; no NaN or inf); got {type(value).__name__}: {exc}"
        )
        raise TypeError(msg) from None
    return cast("T_JSON", plain)


def _plain(value: object) -> object:
    # np.float32(0.5) and np.int64(3) (metrics computed with NumPy) as float and int;
    # np.float64 is a float already, but is stored as one too.
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        items = [_plain(item) for item in value]
        return tuple(items) if isinstance(value, tuple) else items
    return value


_current: ContextVar[TrialContext | None] = ContextVar("asynchyper_current_trial", default=None)


def running_trial() -> TrialContext | None:
    """The trial whose objective is running in the calling task, or ``None``."""
    return _current.get()


def current_trial() -> TrialContext:
    """The trial whose objective is running in the calling task, thread or process.

    Works in ``async def`` objectives, in plain functions run in worker threads, and in
    worker processes (``executor="process"``).

    Returns:
        The running trial's context.

    Raises:
        TrialStateError: Called outside an objective run by ``minimize()`` or
            ``Study.optimize()``.
    """
    context = _current.get()
    if context is None:
        msg = (
            "current_trial() was called outside a trial; call it from inside an "
            "objective that minimize() or Study.optimize() is running"
        )
        raise TrialStateError(msg)
    return context


@contextmanager
def use_trial_context(context: TrialContext) -> Iterator[TrialContext]:
    """Install ``context`` as :func:`current_trial` for the enclosed block.

    Executors call this around the objective, in whatever thread or process runs it;
    a custom :class:`Executor` does the same so that ``current_trial()`` works there.

    Args:
        context: The trial's context, as passed to ``Executor.run``.

    Yields:
        The same context.
    """
    token = _current.set(context)
    try:
        yield context
    except BaseException as exc:
        mark_raised_by_objective(exc)  # whatever runs in this block is the objective
        raise
    finally:
        _current.reset(token)


def mark_raised_by_objective(exc: BaseException) -> None:
    """Note that the objective raised ``exc`` (so an ``ExecutorError`` it raised, from a
    nested study say, fails only its trial instead of stopping the run)."""
    setattr(exc, _FROM_OBJECTIVE, True)  # every BaseException has a __dict__


def raised_by_objective(exc: BaseException) -> bool:
    """Whether :func:`mark_raised_by_objective` marked ``exc``."""
    return bool(getattr(exc, _FROM_OBJECTIVE, False))
