"""Small shared type aliases."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TypeAlias

__all__ = ["JSONScalar", "JSONValue", "Params"]

#: A JSON scalar: what a categorical choice or a flat parameter value may be.
JSONScalar: TypeAlias = str | int | float | bool | None
#: Any JSON value (user attributes, space descriptions).
JSONValue: TypeAlias = JSONScalar | list["JSONValue"] | dict[str, "JSONValue"]
#: Flat, branch-tagged parameters of one trial, e.g. ``{"model": "SVM", "model:SVM.C": 1.0}``.
Params: TypeAlias = Mapping[str, JSONScalar]
