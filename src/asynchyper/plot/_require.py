"""Fail early, with the extra to install, when matplotlib is missing."""

from __future__ import annotations

from .._errors import MissingExtraError

__all__: list[str] = []

try:
    import matplotlib
except ImportError as exc:
    msg = (
        "asynchyper.plot needs matplotlib, which is not installed; install it with "
        "pip install 'asynchyper[plot]'"
    )
    raise MissingExtraError(msg) from exc

del matplotlib
