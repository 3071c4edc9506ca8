"""Interpret what an objective returned (or raised) as a trial outcome."""

from __future__ import annotations

import inspect
import math
import numbers
import traceback
from collections.abc import Mapping

import attrs

from .._executor._context import json_safe
from .._executor._remote import short_repr
from .._records import TrialState
from .._types import JSONInput
from ._result import Evaluation, check_attrs_mapping

__all__ = ["Outcome", "describe_error", "interpret"]


@attrs.frozen
class Outcome:
    """A finished evaluation, ready for ``Storage.finish_trial``.

    ``wrong_type`` marks a value of the wrong type (a programming error, the same for
    every configuration, unlike a NaN); ``notes`` are warnings to log (attributes that
    could not be stored).
    """

    state: TrialState
    value: float | None = None
    error: str | None = None
    user_attrs: Mapping[str, JSONInput] = attrs.field(factory=dict)
    wrong_type: bool = False
    notes: tuple[str, ...] = ()


def describe_error(error: str | BaseException) -> str:
    """Failure text to store: a string as is, an exception with its full traceback."""
    if isinstance(error, BaseException):
        text = "".join(traceback.format_exception(error)).rstrip()
        # .name does not survive a worker process's pickling: the message does
        if isinstance(error, AttributeError) and "attribute 'suggest_" in str(error):
            text += (
                "; the objective receives the configuration (an instance of the space "
                "class), not an Optuna trial: read its fields (config.lr) instead of "
                "calling trial.suggest_*(), and declare the ranges on the class's fields"
            )
        return text
    return str(error)


def failed(
    reason: str, user_attrs: Mapping[str, JSONInput], *, wrong_type: bool = False
) -> Outcome:
    """A FAILED outcome keeping the attributes set so far (those that can be stored)."""
    safe, notes = _safe_attrs(user_attrs)
    return Outcome(TrialState.FAILED, None, reason, safe, wrong_type, notes)


def given_outcome(
    value: object,
    error: str | BaseException | None,
    attrs: Mapping[str, JSONInput] | None,
    *,
    call: str,
    attrs_call: str,
    verb: str,
) -> Outcome:
    """The outcome a caller gives (``tell()``, ``add()``), not one an objective returns.

    ``call`` and ``attrs_call`` name the call in messages (``"tell() for trial 3"``,
    ``"tell(..., attrs=) for trial 3"``); ``verb`` replaces "objective returned" in the
    reason a value that is no finite float fails with (``"told"``).

    Raises:
        ValueError: Both or neither of ``value`` and ``error`` were given.
        TypeError: ``attrs`` is not a mapping, or not JSON-safe.
    """
    if (value is None) == (error is None):
        msg = f"{call} needs exactly one of value= (it completed) or error= (it failed)" + (
            "; got both" if value is not None else "; got neither"
        )
        raise ValueError(msg)
    if attrs is not None:
        check_attrs_mapping(attrs, what=attrs_call)
    user_attrs: dict[str, JSONInput] = dict(attrs or {})
    if user_attrs:
        user_attrs = json_safe(user_attrs, what=attrs_call)
    if error is not None:
        return Outcome(TrialState.FAILED, None, describe_error(error), user_attrs)
    checked = check_value(value)
    if isinstance(checked, str):
        reason = checked.replace("objective returned", verb).replace(
            " or asynchyper.Evaluation(value, attrs)", " (attributes go in attrs=)"
        )
        return failed(reason, user_attrs)
    return Outcome(TrialState.COMPLETE, checked, None, user_attrs)


def is_number(value: object) -> bool:
    """Whether ``value`` is a real number (a NumPy scalar or 0-d array too), not a bool."""
    value = _scalar(value)
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _scalar(value: object) -> object:
    """A 0-d array or tensor (``np.asarray(metric)``) as its Python number."""
    if getattr(value, "ndim", None) == 0 and callable(getattr(value, "item", None)):
        try:
            return value.item()  # type: ignore[attr-defined]
        except Exception:  # not a number after all: reported below
            return value
    return value


def is_wrong_type(value: object) -> bool:
    """Whether ``value`` is no number at all (not merely NaN or too large)."""
    value = _scalar(value)
    return isinstance(value, bool) or not isinstance(value, numbers.Real)


def check_value(value: object) -> float | str:
    """``value`` as a finite float, or the reason it is not acceptable."""
    value = _scalar(value)
    if isinstance(value, Mapping) and "loss" in value:
        return (
            f"objective returned a Hyperopt-style result dict {short_repr(value)}; return "
            "asynchyper.Evaluation(result['loss'], {other keys}) or a float instead, and "
            "raise an exception where Hyperopt returned STATUS_FAIL"
        )
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        return (
            f"objective returned {type(value).__qualname__} {short_repr(value)}; expected a "
            "float or asynchyper.Evaluation(value, attrs)"
        )
    try:
        number = float(value)
    except OverflowError:  # an int (or Fraction) beyond the float range
        return (
            f"objective returned {type(value).__qualname__} {short_repr(value)}; it is too "
            "large for a float (a value must be a finite float)"
        )
    except (TypeError, ValueError, ArithmeticError) as exc:  # a broken numbers.Real
        return (
            f"objective returned {type(value).__qualname__} {short_repr(value)}, which "
            f"cannot be converted to a float ({exc}); return a finite float"
        )
    if not math.isfinite(number):
        return f"objective returned {number}; a value must be a finite float"
    return number


def interpret(raw: object, context_attrs: Mapping[str, JSONInput]) -> Outcome:
    """Turn an objective's raw return value into a COMPLETE or FAILED outcome.

    ``Evaluation.attrs`` are merged over the attributes set through
    ``current_trial().set_attr`` (the returned ones win).
    """
    if isinstance(raw, Evaluation):
        user_attrs = {**context_attrs, **raw.attrs}
        raw_value: object = raw.value
    else:
        user_attrs = dict(context_attrs)
        raw_value = raw
        if inspect.iscoroutine(raw):
            raw.close()
            # A mistake in the code, not in one configuration: counted as a wrong type,
            # so that a run of them stops early.
            return failed(
                "objective returned a coroutine: either it is an async function called "
                "from a worker thread or process (let minimize() run it on the event "
                "loop: drop executor=), or a plain function that returns one, such as "
                "`lambda c: train(c, data)` around an async train (write an `async def` "
                "that awaits it, or use functools.partial(train, data=data))",
                context_attrs,
                wrong_type=True,
            )
    checked = check_value(raw_value)
    if isinstance(checked, str):
        if isinstance(raw, Evaluation):
            checked = checked.replace(
                "objective returned", "objective returned an Evaluation whose value is", 1
            ).replace(" or asynchyper.Evaluation(value, attrs)", "", 1)
        # the attributes returned with it are kept too, as those set with set_attr()
        return failed(checked, user_attrs, wrong_type=is_wrong_type(raw_value))
    safe, notes = _safe_attrs(user_attrs)
    return Outcome(TrialState.COMPLETE, checked, None, safe, notes=notes)


def _safe_attrs(
    user_attrs: Mapping[str, JSONInput],
) -> tuple[Mapping[str, JSONInput], tuple[str, ...]]:
    """The attributes that can be stored, and why each other one cannot.

    One attribute that JSON cannot hold (a NumPy array, a fitted model) must not cost
    the trial its value: it is left out, and the note says which and why.
    """
    safe: dict[str, JSONInput] = {}
    notes: list[str] = []
    for key, item in user_attrs.items():
        name: object = key  # checked at run time: an objective may return any mapping
        if not isinstance(name, str):
            notes.append(f"attribute key {name!r} is not a str; it was not stored")
            continue
        try:
            safe[key] = json_safe(item, what=f"attribute {key!r}")
        except TypeError as exc:
            hint = " (a NumPy array: store .tolist())" if type(item).__name__ == "ndarray" else ""
            notes.append(f"{exc}{hint}; it was not stored")
    return safe, tuple(notes)
