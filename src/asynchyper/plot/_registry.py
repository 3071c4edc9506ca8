"""The plots by the names the command line uses."""

from __future__ import annotations

import types
from collections.abc import Callable, Mapping

from matplotlib.figure import Figure

from ._branches import branches
from ._history import history
from ._importance import importance
from ._parallel import parallel_coordinates
from ._slices import slices

__all__ = ["PLOTS"]

PLOTS: Mapping[str, Callable[..., Figure]] = types.MappingProxyType(
    {
        "history": history,
        "importance": importance,
        "slice": slices,
        "parallel": parallel_coordinates,
        "branches": branches,
    }
)
"""Every plot by its command-line name (``asynchyper plot STUDY KIND``), read-only.

``"history"``, ``"importance"``, ``"slice"``, ``"parallel"`` and ``"branches"``; each
value is called as ``fn(trials, direction=..., space=...)`` and returns a Figure.
"""
