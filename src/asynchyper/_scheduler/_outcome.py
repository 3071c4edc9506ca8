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
from ._result import Evaluation

__all__ = ["Outcome", "describe_error", "interpret"]


@attrs.frozen
class Outcome:
    """A finished evaluation, ready for ``Storage.finish_trial``."""

    state: TrialState
    value: float | None = None
    error: str | None = None
    user_attrs: Mapping[str, JSONInput] = attrs.field(factory=dict)


def describe_error(error: str | BaseException) -> str:
    """Failure text to store: a string as is, an exception with its full traceback."""
    if isinstance(error, BaseException):
        return "".join(traceback.format_exception(error)).rstrip()
    return str(error)


def failed(reason: str, user_attrs: Mapping[str, JSONInput]) -> Outcome:
    """A FAILED outcome keeping the attributes set so far."""
    return Outcome(TrialState.FAILED, None, reason, _safe_attrs(user_attrs))


def check_value(value: object) -> float | str:
    """``value`` as a finite float, or the reason it is not acceptable."""
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
            return failed(
                "objective returned a coroutine: it is an async function that was called "
                "from a worker thread or process; let minimize() run it on the event loop "
                "(drop executor=)",
                context_attrs,
            )
    checked = check_value(raw_value)
    if isinstance(checked, str):
        return failed(checked, context_attrs)
    if user_attrs:
        try:
            user_attrs = json_safe(user_attrs, what="trial attributes")
        except TypeError as exc:
            return failed(str(exc), {})
    return Outcome(TrialState.COMPLETE, checked, None, user_attrs)


def _safe_attrs(user_attrs: Mapping[str, JSONInput]) -> Mapping[str, JSONInput]:
    """The attributes, or none when they cannot be stored."""
    if not user_attrs:
        return {}
    try:
        return dict(json_safe(user_attrs, what="trial attributes"))
    except TypeError:
        return {}
