"""Small shared type aliases."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Literal, TypeAlias

__all__ = ["Direction", "JSONInput", "JSONScalar", "JSONValue", "Params"]

#: A JSON scalar: what a categorical choice or a flat parameter value may be.
JSONScalar: TypeAlias = str | int | float | bool | None
#: Any JSON value, as the library gives it back (stored user attributes, space
#: descriptions): built from ``list`` and ``dict``.
JSONValue: TypeAlias = JSONScalar | list["JSONValue"] | dict[str, "JSONValue"]
#: Any JSON-shaped value, as the library takes it (``set_attr``, ``Evaluation.attrs``,
#: ``tell(attrs=)``): read-only ``Sequence`` and ``Mapping`` are covariant, so a
#: ``list[float]`` or a ``dict[str, float]`` fits where ``JSONValue``'s invariant ``list``
#: and ``dict`` would not. Run-time checks still apply (``check_json_safe``): a value must
#: survive ``json.dumps`` (lists, tuples and dicts of scalars; no ``bytes``, no NaN).
JSONInput: TypeAlias = JSONScalar | Sequence["JSONInput"] | Mapping[str, "JSONInput"]
#: Which way a study optimizes its objective.
Direction: TypeAlias = Literal["minimize", "maximize"]
#: Flat, branch-tagged parameters of one trial, e.g. ``{"model": "SVM", "model:SVM.C": 1.0}``.
Params: TypeAlias = Mapping[str, JSONScalar]
