"""Argument checks shared by the scheduler's entry points."""

from __future__ import annotations

import functools
import inspect
import math
import numbers
import typing
from collections.abc import Mapping, Sequence
from typing import Any, TypeVar, cast

import attrs

from .._errors import ParameterError
from .._executor._inspect import call_problem, readable_signature
from .._executor._remote import short_repr
from .._space import Space
from .._suggest import Suggester
from .._types import Params
from ._callbacks import as_callbacks
from ._constants import check_constants
from ._progress import check_progress

__all__ = [
    "check_enqueue",
    "check_int",
    "check_objective",
    "check_run_options",
    "check_seconds",
    "check_study_options",
]

T = TypeVar("T")

#: The longest study name (as the storages allow).
_NAME_LIMIT = 500


def check_int(name: str, value: object, *, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        msg = f"{name} must be an int >= {minimum}; got {type(value).__name__} {value!r}"
        if not isinstance(value, int) and isinstance(value, numbers.Integral):  # NumPy's
            msg += f" (convert it: {name}=int(...))"
        raise TypeError(msg)
    if value < minimum:
        msg = f"{name} must be >= {minimum}; got {value}"
        raise ValueError(msg)


def check_seconds(name: str, value: float | None) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int | float):
        msg = f"{name} must be a number of seconds or None; got {type(value).__name__}"
        raise TypeError(msg)
    if not value > 0:
        msg = f"{name} must be > 0 seconds (or None for no limit); got {value!r}"
        raise ValueError(msg)


def check_objective(objective: object, space: object) -> None:
    """Refuse an objective that cannot be called with a configuration, before any trial.

    Otherwise every trial would fail with the same ``TypeError`` until ``max_failures``
    ends the run.

    Raises:
        TypeError: ``objective`` is not callable (a str naming it, the value it
            returned), cannot take the configuration as its only argument, or
            annotates it with another space class than ``space``.
    """
    if not callable(objective):
        hint = (
            "; import the function and pass it itself"
            if isinstance(objective, str)
            else "; pass the function itself, not the result of calling it"
        )
        msg = (
            f"objective must be a function called with each configuration; got "
            f"{type(objective).__qualname__} {short_repr(objective)}{hint}"
        )
        raise TypeError(msg)
    if isinstance(objective, type) and attrs.has(objective):
        msg = (
            f"objective is the attrs class {objective.__qualname__}: the arguments are "
            f"(objective, space), e.g. minimize(evaluate, {objective.__qualname__}, ...)"
        )
        raise TypeError(msg)
    problem = call_problem(objective, 1)
    if problem is not None:
        msg = (
            f"the objective is called with one argument, the configuration, but {problem}; "
            "give it one parameter (bind any others with functools.partial)"
        )
        raise TypeError(msg)
    annotated = _first_parameter_class(objective)
    if (
        annotated is not None
        and attrs.has(annotated)
        and isinstance(space, type)
        and attrs.has(space)
        and not issubclass(space, annotated)
        # the same class defined again (a re-run notebook cell, a reloaded module)
        and annotated.__qualname__ != space.__qualname__
    ):
        name = getattr(objective, "__qualname__", type(objective).__qualname__)
        msg = (
            f"objective {name} takes a {annotated.__qualname__} (its annotation), but the "
            f"space is {space.__qualname__}: each trial would fail. Pass the space it was "
            f"written for, or annotate its parameter as {space.__qualname__}"
        )
        raise TypeError(msg)


def _first_parameter_class(objective: object) -> type | None:
    """The class the objective's first parameter is annotated with, when it is one."""
    if inspect.isfunction(objective) or inspect.ismethod(objective):
        annotated: object = objective
    elif isinstance(objective, type | functools.partial):
        return None
    else:  # an instance: its __call__'s annotations, not its class's fields
        annotated = getattr(type(objective), "__call__", None)  # noqa: B004
    signature = readable_signature(objective)
    if signature is None or not signature.parameters:
        return None
    try:
        hints = typing.get_type_hints(annotated)
    except Exception:  # unresolvable names and the like: nothing to check
        return None
    hint = hints.get(next(iter(signature.parameters)))
    return hint if isinstance(hint, type) else None


def check_run_options(
    *,
    trials: object,
    concurrency: object,
    retries: object,
    patience: object,
    max_failures: object,
    timeout: float | None,
    trial_timeout: float | None,
    target: float | None,
    callbacks: Sequence[object],
    progress: object,
) -> None:
    """Check the options of a run (``optimize``/``minimize``) before anything is touched.

    Raises:
        TypeError: An option has the wrong type.
        ValueError: An option is out of range; the message names it.
    """
    check_int("trials", trials, minimum=1)
    check_int("concurrency", concurrency, minimum=1)
    check_int("retries", retries, minimum=0)
    if patience is not None:
        check_int("patience", patience, minimum=1)
    if max_failures is not None:
        check_int("max_failures", max_failures, minimum=1)
    check_seconds("timeout", timeout)
    check_seconds("trial_timeout", trial_timeout)
    given: object = target  # checked at run time: callers may pass anything
    if given is not None and (isinstance(given, bool) or not isinstance(given, numbers.Real)):
        msg = f"target must be a number or None; got {type(given).__qualname__} {short_repr(given)}"
        raise TypeError(msg)
    if target is not None and not math.isfinite(target):
        msg = f"target must be a finite number or None; got {target!r}"
        raise ValueError(msg)
    as_callbacks(callbacks)  # type: ignore[arg-type]  # checked here, at run time
    check_progress(progress)


def check_study_options(*, name: object, suggester: object, seed: object) -> None:
    """Check the options of ``open_study`` before the storage is opened.

    Raises:
        TypeError: An option has the wrong type.
        ValueError: ``name`` is empty or too long, or ``seed`` is negative.
    """
    if name is not None:
        if not isinstance(name, str):
            msg = f"name must be a str or None; got {type(name).__name__} {name!r}"
            raise TypeError(msg)
        if not name or len(name) > _NAME_LIMIT:
            msg = (
                f"name must be a non-empty string of at most {_NAME_LIMIT} characters; got "
                f"{name[:40]!r}{'...' if len(name) > 40 else ''} ({len(name)} characters). "
                "Pass None for the default (the space class's qualified name)"
            )
            raise ValueError(msg)
    if suggester is not None and not isinstance(suggester, Suggester):
        msg = (
            f"suggester must be a Suggester (e.g. asynchyper.TPE() or asynchyper.Random()) "
            f"or None; got {type(suggester).__name__} {suggester!r}"
        )
        raise TypeError(msg)
    if inspect.iscoroutinefunction(getattr(suggester, "suggest", None)):
        msg = (
            f"{type(suggester).__name__}.suggest is async def; a suggester is synchronous "
            "(it never awaits: the study calls it between trials, in a worker thread when "
            "it is slow). Make suggest a plain def"
        )
        raise TypeError(msg)
    if not isinstance(seed, bool | int) and isinstance(seed, numbers.Integral):
        seed = int(seed)  # a NumPy int (from rng.integers, say) seeds as well
    if seed is not None:
        check_int("seed", seed, minimum=0)


def check_enqueue(space: Space[T], configs: object) -> list[T | Mapping[str, Any]]:
    """The ``enqueue=`` configurations of ``minimize``, each checked against ``space``.

    Checked before any storage is opened, as :meth:`Study.enqueue` would check them.

    Raises:
        TypeError: ``configs`` is not a list or tuple, or an item is neither an
            instance of the space class nor a mapping of flat parameters.
        ParameterError: A configuration does not fit the space (its position noted).
    """
    if isinstance(configs, Mapping | str | bytes) or not isinstance(configs, Sequence):
        hint = " (put a single configuration in a list)" if isinstance(configs, Mapping) else ""
        msg = (
            f"enqueue= takes a list of configurations{hint}, got {type(configs).__name__} "
            f"{configs!r:.80}"
        )
        raise TypeError(msg)
    checked: list[T | Mapping[str, Any]] = []
    for index, config in enumerate(configs):
        try:
            if isinstance(config, Mapping):
                given = space.validate(cast("Params", config), partial=True)
                try:
                    space.validate(given)
                except ParameterError:
                    pass  # a part of a configuration: completed (and checked) when queued
                else:
                    space.decode(given)  # the space class's own checks, as enqueue() runs
            elif isinstance(config, space.cls):
                space.encode(config)
                check_constants(space, config, what="enqueue=")
            else:
                msg = (
                    f"enqueue[{index}] is a {type(config).__name__}; give an instance of "
                    f"{space.cls.__qualname__} or a dict of flat parameters"
                )
                raise TypeError(msg)
        except ParameterError as exc:
            exc.add_note(f"in enqueue[{index}]")
            raise
        checked.append(config)
    return checked
