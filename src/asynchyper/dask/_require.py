"""Fail early, with the extra to install, when distributed is missing."""

from __future__ import annotations

import importlib.metadata

from .._errors import MissingExtraError

__all__ = ["DISTRIBUTED_VERSION"]

try:
    import distributed  # noqa: F401 - imported to fail early when it is missing
except ImportError as exc:
    msg = (
        "asynchyper.dask needs dask.distributed, which is not installed; install it with "
        "pip install 'asynchyper[dask]'"
    )
    raise MissingExtraError(msg) from exc

DISTRIBUTED_VERSION: str = importlib.metadata.version("distributed")
"""The installed dask.distributed version, e.g. ``"2026.8.0"``."""
