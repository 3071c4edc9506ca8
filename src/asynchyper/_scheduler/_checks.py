"""Argument checks shared by the scheduler's entry points."""

from __future__ import annotations

import math

__all__ = ["check_int", "check_run_options", "check_seconds"]


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
    if target is not None and not math.isfinite(target):
        msg = f"target must be a finite number or None; got {target!r}"
        raise ValueError(msg)
