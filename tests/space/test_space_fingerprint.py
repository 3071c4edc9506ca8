"""The fingerprint changes with any bound, step, log, choice or structure - and
with nothing else."""

from __future__ import annotations

import enum
import json
from typing import Annotated, Any, Literal

import attrs
import pytest

import asynchyper as ah
from asynchyper._space import description_fingerprint


@attrs.define
class P:
    a: Annotated[int, ah.Int(1, 4)]


@attrs.define
class Q:
    b: bool


@attrs.define
class R:
    b: bool


def _field(hint: Any, **options: Any) -> Any:
    return attrs.field(type=hint, **options)


def _space(**overrides: Any) -> str:
    """Fingerprint of a base space with some field types replaced (or added)."""
    types: dict[str, Any] = {
        "x": Annotated[float, ah.Float(0.1, 1.0)],
        "n": Annotated[int, ah.Int(0, 10)],
        "c": Literal["a", "b"],
        "m": P | Q,
    }
    types.update(overrides)
    fields = {name: _field(t) for name, t in types.items() if t is not None}
    return ah.compile_space(attrs.make_class("Base", fields)).fingerprint


BASE = _space()


@pytest.mark.parametrize(
    "overrides",
    [
        {"x": Annotated[float, ah.Float(0.2, 1.0)]},
        {"x": Annotated[float, ah.Float(0.1, 2.0)]},
        {"x": Annotated[float, ah.Float(0.1, 1.0, log=True)]},
        {"x": Annotated[float, ah.Float(0.1, 1.0, step=0.1)]},
        {"x": Annotated[int, ah.Int(1, 10)]},
        {"n": Annotated[int, ah.Int(0, 10, step=2)]},
        {"n": Annotated[int, ah.Int(1, 10, log=True)]},
        {"c": Literal["a", "b", "d"]},
        {"c": Literal["a", "B"]},
        {"m": P | R},
        {"m": P | Q | None},
        {"m": P},
        {"extra": bool},
        {"c": None},
    ],
    ids=repr,
)
def test_fingerprint_changes(overrides: dict[str, Any]) -> None:
    assert _space(**overrides) != BASE


def test_fingerprint_ignores_union_order_constants_and_class_names() -> None:
    assert _space() == BASE
    assert _space(m=Q | P) == BASE
    with_constant = attrs.make_class(
        "Renamed",
        {
            "m": _field(P | Q),
            "c": _field(Literal["a", "b"]),
            "n": _field(Annotated[int, ah.Int(0, 10)]),
            "x": _field(Annotated[float, ah.Float(0.1, 1.0)]),
            "seed": _field(int, default=3),
        },
    )
    assert ah.compile_space(with_constant).fingerprint == BASE


class Act(enum.Enum):
    RELU = 1
    GELU = 2


class ActReordered(enum.Enum):
    GELU = 2
    RELU = 1


@pytest.mark.parametrize(
    ("before", "after"),
    [
        (Literal["a", "b", None], Literal[None, "b", "a"]),
        (Act, ActReordered),
        (Annotated[int, ah.Categorical([8, 16, 32])], Annotated[int, ah.Categorical([32, 8, 16])]),
        (Literal[Act.RELU, Act.GELU], Literal[ActReordered.GELU, ActReordered.RELU]),
    ],
    ids=repr,
)
def test_fingerprint_ignores_choice_order(before: Any, after: Any) -> None:
    assert _space(c=before) == _space(c=after)
    assert _space(c=before) != BASE


def test_fingerprint_of_declarations_in_canonical_order_is_unchanged() -> None:
    # Pinned before choice order stopped mattering: a study created then, with its
    # choices in sorted order, must still open.
    assert BASE == "2a5e039f73a1b8b2d7c2f9be2beb937f7fa8286778b482080c51492f07048131"


def test_fingerprint_can_be_recomputed_from_a_stored_description() -> None:
    # Storage keeps Space.describe() as JSON: the fingerprint follows from it, so a
    # study stored with choices in another order is recognised as the same space.
    cls = attrs.make_class("Stored", {"c": _field(Literal["b", "a"]), "m": _field(P | Q)})
    space: ah.Space[Any] = ah.compile_space(cls)
    stored = json.loads(json.dumps(space.describe()))
    assert description_fingerprint(stored) == space.fingerprint
    reordered = attrs.make_class("Now", {"c": _field(Literal["a", "b"]), "m": _field(Q | P)})
    assert description_fingerprint(stored) == ah.compile_space(reordered).fingerprint
