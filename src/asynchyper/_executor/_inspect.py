"""Telling async objectives from plain ones."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any

__all__ = ["call_problem", "is_async_callable"]


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

    ``None`` when it can, or when its signature cannot be read (a builtin or an
    extension's callable): then only the call itself can tell.
    """
    try:
        signature = inspect.signature(function)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    try:
        signature.bind(*([None] * count))
    except TypeError as exc:
        return f"{_name(function)}{signature}: {exc}"
    return None


def _name(function: object) -> str:
    while isinstance(function, functools.partial):
        function = function.func
    return getattr(function, "__qualname__", None) or type(function).__qualname__
