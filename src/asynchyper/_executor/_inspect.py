"""Telling async objectives from plain ones."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any

__all__ = ["call_problem", "is_async_callable", "readable_signature"]


def is_async_callable(obj: Callable[..., Any]) -> bool:
    """Whether calling ``obj`` returns a coroutine (functions, partials, callables)."""
    while isinstance(obj, functools.partial):
        obj = obj.func
    if inspect.iscoroutinefunction(obj):
        return True
    call = getattr(type(obj), "__call__", None)  # noqa: B004 - we need the method itself
    return not inspect.isfunction(obj) and inspect.iscoroutinefunction(call)


def call_problem(function: object, count: int) -> str | None:
    """Why ``function`` cannot be called with ``count`` positional arguments, if known.

    ``None`` when it can, or when that is not certain: a builtin or an extension's
    callable (no signature), an instance whose ``__call__`` is no plain function (a
    staticmethod, say). A decorated function is judged by the wrapper that is called,
    not by the function it wraps (a decorator may supply arguments).
    """
    signature = readable_signature(function)
    if signature is None:
        return None
    try:
        signature.bind(*([None] * count))
    except TypeError as exc:
        return f"{_name(function)}{signature}: {exc}"
    return None


def readable_signature(function: object) -> inspect.Signature | None:
    """The signature ``function`` is called with, or ``None`` when it is not certain."""
    if not (
        inspect.isfunction(function)
        or inspect.ismethod(function)
        or isinstance(function, functools.partial)
        # a plain def __call__ (a staticmethod's signature would lose a parameter)
        or inspect.isfunction(inspect.getattr_static(type(function), "__call__", None))
    ):
        return None
    try:
        return inspect.signature(function, follow_wrapped=False)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None


def _name(function: object) -> str:
    while isinstance(function, functools.partial):
        function = function.func
    return getattr(function, "__qualname__", None) or type(function).__qualname__
