"""Telling async objectives from plain ones."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any

__all__ = ["is_async_callable"]


def is_async_callable(obj: Callable[..., Any]) -> bool:
    """Whether calling ``obj`` returns a coroutine (functions, partials, callables)."""
    while isinstance(obj, functools.partial):
        obj = obj.func
    if inspect.iscoroutinefunction(obj):
        return True
    call = getattr(type(obj), "__call__", None)  # noqa: B004 - we need the method itself
    return not inspect.isfunction(obj) and inspect.iscoroutinefunction(call)
