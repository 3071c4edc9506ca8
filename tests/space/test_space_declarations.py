"""Every declaration form the compiler accepts."""

from __future__ import annotations

import enum
from typing import Annotated, Any, Literal, Optional, Union

import annotated_types as at
import attrs
import numpy as np
import pytest

import asynchyper as ah

Rate = Annotated[float, ah.Float(1e-4, 1.0, log=True)]
Width = Annotated[int, ah.Int(16, 256, log=True)]


def _round_trip(space: ah.Space[Any], seed: int = 0, n: int = 50) -> None:
    rng = np.random.default_rng(seed)
    for _ in range(n):
        params = space.sample(rng)
        assert space.encode(space.decode(params)) == params


@attrs.define(kw_only=True)
class Aliases:
    a: Rate
    b: Annotated[Rate, "a doc string the compiler ignores"]
    w: Width


def test_reusable_annotated_aliases() -> None:
    space = ah.compile_space(Aliases)
    assert space.names == ("a", "b", "w")
    a, b, w = space.dimensions
    assert (a.low, a.high, a.log) == (b.low, b.high, b.log) == (1e-4, 1.0, True)
    assert (w.kind, w.low, w.high, w.log, w.step) == (ah.DimensionKind.INT, 16, 256, True, 1)
    _round_trip(space)


@attrs.define(slots=False)
class NotSlotted:
    x: Annotated[float, ah.Float(0.0, 1.0)]


@attrs.define(slots=True)
class Slotted:
    x: Annotated[float, ah.Float(0.0, 1.0)]


@attrs.frozen
class Frozen:
    x: Annotated[float, ah.Float(0.0, 1.0)]


@attrs.mutable(kw_only=True)
class KwOnly:
    x: Annotated[float, ah.Float(0.0, 1.0)]


@pytest.mark.parametrize("cls", [NotSlotted, Slotted, Frozen, KwOnly])
def test_class_flavours(cls: type) -> None:
    space: ah.Space[Any] = ah.compile_space(cls)
    assert space.names == ("x",)
    config = space.decode({"x": 0.5})
    assert isinstance(config, cls)
    assert space.encode(config) == {"x": 0.5}


@attrs.frozen
class Private:
    _secret: Annotated[int, ah.Int(1, 3)]
    _mode: Literal["a", "b"]
    _fixed: int = 7

    @property
    def secret(self) -> int:
        return self._secret


def test_private_fields_are_built_through_their_alias() -> None:
    space = ah.compile_space(Private)
    assert space.names == ("secret", "mode")
    assert space.dimensions[0].path == "Private._secret"
    config = space.decode({"secret": 2, "mode": "b"})
    assert config.secret == 2
    assert config._fixed == 7
    assert space.encode(config) == {"secret": 2, "mode": "b"}


class Color(enum.Enum):
    RED = "r"
    GREEN = "g"
    CRIMSON = "r"  # an alias of RED: not a separate choice


@attrs.define
class Constants:
    x: Annotated[float, ah.Float(0.0, 1.0)]
    n: int = 3
    flag: bool = True
    kind: Literal["a", "b"] = "b"
    color: Color = Color.GREEN
    items: list[int] = attrs.field(factory=lambda: [1, 2])
    derived: int = attrs.field(init=False, default=11)
    marked_with_default: Annotated[int, ah.Int(1, 9)] = 5


def test_fields_with_default_and_no_marker_are_constants() -> None:
    space = ah.compile_space(Constants)
    assert space.names == ("x", "marked_with_default")
    config = space.decode({"x": 0.25, "marked_with_default": 2})
    assert config == Constants(0.25, marked_with_default=2)
    assert config.items == [1, 2]
    assert config.derived == 11


@attrs.define
class Choices:
    color: Color
    flag: bool
    literal: Literal["x", 3, True, None, 2.5]  # type: ignore[valid-type]
    cat: Annotated[str, ah.Categorical(["p", "q"])]
    mixed: Annotated[object, ah.Categorical([1, "1", 2.5, False])]


def test_categorical_forms() -> None:
    space = ah.compile_space(Choices)
    dims = {d.name: d for d in space.dimensions}
    assert dims["color"].choices == ("RED", "GREEN")
    assert dims["flag"].choices == (False, True)
    assert dims["literal"].choices == ("x", 3, True, None, 2.5)
    assert dims["cat"].choices == ("p", "q")
    assert dims["mixed"].choices == (1, "1", 2.5, False)
    config = space.decode(
        {"color": "GREEN", "flag": False, "literal": None, "cat": "q", "mixed": 2.5}
    )
    assert config.color is Color.GREEN
    assert config.literal is None
    assert type(config.mixed) is float
    assert space.to_vector(space.encode(config)).tolist() == [1.0, 0.0, 3.0, 1.0, 2.0]
    # True and 1 (or "1") stay distinct choices; 1 and 1.0 would be one (refused)
    assert space.to_vector({**space.encode(config), "literal": True})[2] == 2.0
    assert space.to_vector({**space.encode(config), "mixed": 1})[4] == 0.0
    assert space.to_vector({**space.encode(config), "mixed": False})[4] == 3.0
    _round_trip(space)


@attrs.define
class Bounded:
    closed: Annotated[float, at.Interval(ge=0.5, le=2.5)]
    grouped: Annotated[float, at.Ge(-1), at.Le(1)]
    open_int: Annotated[int, at.Gt(0), at.Lt(10)]
    closed_int: Annotated[int, at.Interval(ge=1, le=4)]
    doc_and_bounds: Annotated[float, at.Interval(gt=0.0, lt=1.0), "unit"]


def test_annotated_types_bounds() -> None:
    space = ah.compile_space(Bounded)
    dims = {d.name: d for d in space.dimensions}
    assert (dims["closed"].kind, dims["closed"].low, dims["closed"].high) == (
        ah.DimensionKind.FLOAT,
        0.5,
        2.5,
    )
    assert (dims["grouped"].low, dims["grouped"].high) == (-1.0, 1.0)
    assert (dims["open_int"].kind, dims["open_int"].low, dims["open_int"].high) == (
        ah.DimensionKind.INT,
        1,
        9,
    )
    assert (dims["closed_int"].low, dims["closed_int"].high) == (1, 4)
    open_dim = dims["doc_and_bounds"]
    assert open_dim.low is not None
    assert open_dim.high is not None
    assert 0.0 < open_dim.low < 1e-300
    assert 1.0 - 1e-15 < open_dim.high < 1.0
    _round_trip(space)


@attrs.define
class Leaf:
    depth: Annotated[int, ah.Int(1, 4)]


@attrs.define
class Middle:
    inner: Leaf | None
    scale: Annotated[float, ah.Float(0.0, 1.0, step=0.25)]


@attrs.define
class Other:
    z: bool


@attrs.define
class Top:
    branch: Middle | Other


@attrs.define
class Root:
    top: Top
    alt: Optional[Leaf]  # noqa: UP045 - the typing.Optional spelling must work too
    union: Union[Leaf, Other]  # noqa: UP007 - the typing.Union spelling must work too


def test_three_levels_of_nesting() -> None:
    space = ah.compile_space(Root)
    assert space.names == (
        "top.branch",
        "top.branch:Middle.inner",
        "top.branch:Middle.inner:Leaf.depth",
        "top.branch:Middle.scale",
        "top.branch:Other.z",
        "alt",
        "alt:Leaf.depth",
        "union",
        "union:Leaf.depth",
        "union:Other.z",
    )
    dims = {d.name: d for d in space.dimensions}
    depth = dims["top.branch:Middle.inner:Leaf.depth"]
    assert (depth.parent, depth.parent_choice) == ("top.branch:Middle.inner", "Leaf")
    assert depth.path == "Root.top.branch[Middle].inner[Leaf].depth"
    inner = dims["top.branch:Middle.inner"]
    assert (inner.parent, inner.parent_choice) == ("top.branch", "Middle")
    assert dims["alt"].choices == ("Leaf", "None")
    params: dict[str, str | int | float | bool | None] = {
        "top.branch": "Middle",
        "top.branch:Middle.inner": "Leaf",
        "top.branch:Middle.inner:Leaf.depth": 3,
        "top.branch:Middle.scale": 0.75,
        "alt": "None",
        "union": "Other",
        "union:Other.z": True,
    }
    config = space.decode(params)
    assert config == Root(Top(Middle(Leaf(3), 0.75)), None, Other(True))
    assert space.encode(config) == params
    # the deepest dimension is active only when both of its ancestors are chosen
    matrix = space.sample_vectors(np.random.default_rng(0), 2000)
    mask = space.active_mask(matrix)
    col = space.index("top.branch:Middle.inner:Leaf.depth")
    expected = (matrix[:, space.index("top.branch")] == 0) & (
        matrix[:, space.index("top.branch:Middle.inner")] == 0
    )
    assert np.array_equal(mask[:, col], expected)
    assert 0.15 < expected.mean() < 0.35
    _round_trip(space, n=200)


@attrs.define
class Empty:
    pass


@attrs.define
class WithEmptyBranch:
    model: Leaf | Empty


def test_branch_without_dimensions() -> None:
    space = ah.compile_space(WithEmptyBranch)
    assert space.names == ("model", "model:Leaf.depth")
    assert space.decode({"model": "Empty"}) == WithEmptyBranch(Empty())


@attrs.define
class Twice:
    first: Leaf
    second: Leaf


def test_same_class_twice_gets_separate_dimensions() -> None:
    space = ah.compile_space(Twice)
    assert space.names == ("first.depth", "second.depth")
    assert space.decode({"first.depth": 1, "second.depth": 4}) == Twice(Leaf(1), Leaf(4))


@attrs.define
class Grids:
    log_int: Annotated[int, ah.Int(1, 8, log=True)]
    step_int: Annotated[int, ah.Int(-10, 20, step=5)]
    step_float: Annotated[float, ah.Float(-1.0, 1.0, step=0.1)]


def test_grids_are_fully_covered_and_in_bounds() -> None:
    space = ah.compile_space(Grids)
    matrix = space.sample_vectors(np.random.default_rng(0), 5000)
    rows = space.from_matrix(matrix)
    assert {r["log_int"] for r in rows} == set(range(1, 9))
    assert {r["step_int"] for r in rows} == set(range(-10, 21, 5))
    floats = {r["step_float"] for r in rows}
    assert floats == {round(-1.0 + k * 0.1, 10) for k in range(21)}
    # log-uniform over ints: 1 (width log(1.5/0.5)) is drawn more often than 8
    counts = np.bincount([int(r["log_int"]) for r in rows])  # type: ignore[arg-type]
    assert counts[1] > 3 * counts[8]
    one = [space.sample(np.random.default_rng(s)) for s in range(300)]
    assert {p["log_int"] for p in one} == set(range(1, 9))


def test_categorical_markers_with_equal_but_differently_typed_choices() -> None:
    # 0 == False == 0.0, but as choices they differ; typing's Annotated cache must
    # not hand back the hint of one for the other
    assert ah.Categorical([0]) != ah.Categorical([False])
    assert ah.Categorical([1]) == ah.Categorical([1])
    assert hash(ah.Categorical(["a"])) == hash(ah.Categorical(("a",)))
    hints: list[Any] = [
        Annotated[object, ah.Categorical([0])],
        Annotated[object, ah.Categorical([False])],
        Annotated[object, ah.Categorical([0.0])],
    ]
    for hint, expected in zip(hints, [(0,), (False,), (0.0,)], strict=True):
        cls = attrs.make_class("OneChoice", {"c": attrs.field(type=hint)})
        [dim] = ah.compile_space(cls).dimensions
        assert [(type(c), c) for c in dim.choices] == [(type(e), e) for e in expected]


@pytest.mark.parametrize("first_good", [True, False])
def test_int_markers_with_equal_but_differently_typed_bounds(first_good: bool) -> None:
    # Int(1, 10.0) == Int(1, 10) would let typing's Annotated cache hand one class the
    # other's marker: the float bound accepted, or refused on the class that gave ints.
    assert ah.Int(1, 10) != ah.Int(1, 10.0)  # type: ignore[arg-type]
    assert ah.Int(1, 10) == ah.Int(1, 10)
    assert hash(ah.Float(0.0, 1.0, mu=0.5, sigma=0.1)) == hash(
        ah.Float(0.0, 1.0, mu=0.5, sigma=0.1)
    )
    assert ah.Float(0.0, 1.0) != ah.Float(0, 1)
    good: Any = Annotated[int, ah.Int(1, 10)]
    bad: Any = Annotated[int, ah.Int(1, 20 / 2)]  # type: ignore[arg-type]
    hints = [("Good", good), ("Bad", bad)] if first_good else [("Bad", bad), ("Good", good)]
    for name, hint in hints:
        cls = attrs.make_class(name, {"k": attrs.field(type=hint)})
        if name == "Good":
            [dim] = ah.compile_space(cls).dimensions
            assert (dim.low, dim.high) == (1, 10)
        else:
            with pytest.raises(ah.InvalidSpaceError) as caught:
                ah.compile_space(cls)
            (error,) = caught.value.exceptions
            assert str(error).startswith("Bad.k: Int low, high and step must be ints")
