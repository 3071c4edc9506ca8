"""Small shared type aliases."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal, TypeAlias

import numpy as np

__all__ = ["Direction", "JSONInput", "JSONScalar", "JSONValue", "Params"]

JSONScalar: TypeAlias = str | int | float | bool | None
"""A JSON scalar: what a categorical choice or a flat parameter value may be."""

JSONValue: TypeAlias = JSONScalar | list["JSONValue"] | dict[str, "JSONValue"]
"""Any JSON value, as the library gives it back (stored user attributes, space
descriptions): built from ``list`` and ``dict``."""

JSONInput: TypeAlias = (
    JSONScalar
    | np.floating[Any]
    | np.integer[Any]
    | np.bool_
    | Sequence["JSONInput"]
    | Mapping[str, "JSONInput"]
)
"""Any JSON-shaped value, as the library takes it (``set_attr``, ``Evaluation.attrs``,
``tell(attrs=)``): read-only ``Sequence`` and ``Mapping`` are covariant, so a
``list[float]`` or a ``dict[str, float]`` fits where ``JSONValue``'s invariant ``list``
and ``dict`` would not. NumPy numbers are taken and stored as plain numbers. Run-time
checks still apply: a value must survive ``json.dumps`` (lists, tuples and dicts of
scalars; no ``bytes``, no NaN)."""

Direction: TypeAlias = Literal["minimize", "maximize"]
"""Which way a study optimizes its objective."""

Params: TypeAlias = Mapping[str, JSONScalar]
"""Flat, branch-tagged parameters of one trial, e.g. ``{"model": "SVM", "model:SVM.C": 1.0}``."""
