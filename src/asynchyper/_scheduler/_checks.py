"""Argument checks shared by the scheduler's entry points."""

from __future__ import annotations

__all__ = ["check_int", "check_seconds"]


def check_int(name: str, value: object, *, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        msg = f"{name} must be an int >= {minimum}; got {type(value).__name__} {value!r}"
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
