"""Declaration mistakes that compiled into a wrong space, or got a misleading message."""

from __future__ import annotations

from typing import Annotated, Any, Generic, Literal, NewType, TypeVar

import attrs
import numpy as np
import pytest

import asynchyper as ah


def _problems(cls: Any) -> dict[str, list[str]]:
    """Compile ``cls`` (or whatever was passed for it), expecting failure; return the
    messages grouped by path."""
    with pytest.raises(ExceptionGroup) as info:
        ah.compile_space(cls)
    found: dict[str, list[str]] = {}
    for error in info.value.exceptions:
        assert isinstance(error, ah.SpaceDeclarationError)
        found.setdefault(error.path, []).append(str(error))
    return found


def _double(value: int) -> int:
    return 2 * value


# -- converters on searched fields ------------------------------------------------------


@attrs.frozen(kw_only=True)
class SearchedWithConverters:
    doubled: Annotated[int, ah.Int(1, 10)] = attrs.field(default=1, converter=_double)
    flag: bool = attrs.field(converter=bool)
    kind: Literal["a", "b"] = attrs.field(converter=str)
    layers: tuple[int, ...] = attrs.field(default=[64, 64], converter=tuple)  # a constant


def test_a_converter_on_a_searched_field_is_refused() -> None:
    # The objective saw 2 * the drawn value, outside Int(1, 10), and encode failed.
    found = _problems(SearchedWithConverters)
    assert sorted(found) == [
        "SearchedWithConverters.doubled",
        "SearchedWithConverters.flag",
        "SearchedWithConverters.kind",
    ]
    [doubled] = found["SearchedWithConverters.doubled"]
    assert "is searched and has a converter (_double)" in doubled
    assert "Remove the converter" in doubled
    assert "in the objective or in a property" in doubled


# -- markers that were silently not searched -------------------------------------------


@attrs.frozen(kw_only=True)
class MarkerAsDefault:
    lr: float = ah.Float(1e-5, 1e-1, log=True)  # type: ignore[assignment]
    n: Any = ah.Int(1, 8)  # noqa: RUF009 - the mistake tested


@attrs.frozen(kw_only=True)
class MarkerNotInInit:
    x: Annotated[float, ah.Float(0, 1)]
    warmup: Annotated[int, ah.Int(0, 100)] = attrs.field(init=False, default=10)
    derived: int = attrs.field(init=False, default=3)  # no marker: a derived field


def test_a_marker_as_default_is_refused() -> None:
    # It compiled to a space without the dimension, and the objective got the marker.
    found = _problems(MarkerAsDefault)
    [lr] = found["MarkerAsDefault.lr"]
    assert "has the marker ah.Float(1e-05, 0.1, log=True) as its default" in lr
    assert "`lr: Annotated[float, ah.Float(1e-05, 0.1, log=True)]`, with no default" in lr
    [n] = found["MarkerAsDefault.n"]
    assert "`n: Annotated[int, ah.Int(1, 8)]`" in n


def test_a_marker_on_an_init_false_field_is_refused() -> None:
    found = _problems(MarkerNotInInit)
    assert list(found) == ["MarkerNotInInit.warmup"]
    [warmup] = found["MarkerNotInInit.warmup"]
    assert "init=False and the marker ah.Int(0, 100)" in warmup
    assert "remove init=False to search it" in warmup


# -- messages ---------------------------------------------------------------------------

Width = NewType("Width", int)
Rate = NewType("Rate", float)


@attrs.frozen(kw_only=True)
class NewTypes:
    width: Annotated[Width, ah.Int(1, 10)]
    rate: Annotated[Rate, ah.Float(0.0, 0.5)]


def test_markers_accept_new_types() -> None:
    space = ah.compile_space(NewTypes)
    assert [d.kind for d in space.dimensions] == [ah.DimensionKind.INT, ah.DimensionKind.FLOAT]
    config = space.decode({"width": 3, "rate": 0.25})
    assert config == NewTypes(width=Width(3), rate=Rate(0.25))
    assert space.encode(config) == {"width": 3, "rate": 0.25}


@attrs.frozen(kw_only=True)
class Adam:
    lr: Annotated[float, ah.Float(1e-5, 1e-1, log=True)]


@attrs.frozen(kw_only=True)
class OptionalMistakes:
    dropout_rate: Annotated[float, ah.Float(0.0, 0.5)] | None
    inside: Annotated[int | None, ah.Int(1, 4)]
    optimizer: Adam | Literal["none"]
    uncalled: Annotated[float, ah.Float]
    uncalled_choice: Annotated[str, ah.Categorical] = "a"


def test_messages_name_the_real_fix() -> None:
    found = _problems(OptionalMistakes)
    [rate] = found["OptionalMistakes.dropout_rate"]
    assert "union member Annotated[float, ah.Float(0.0, 0.5)] is a searched dimension" in rate
    assert "`@attrs.frozen class DropoutRate: value: Annotated[float, ah.Float(0.0, 0.5)]`" in rate
    assert "`dropout_rate: DropoutRate | None`" in rate
    assert "Literal" not in rate
    [inside] = found["OptionalMistakes.inside"]
    assert "a searched range cannot be None" in inside
    assert "`inside: Inside | None`" in inside
    [optimizer] = found["OptionalMistakes.optimizer"]
    assert "write `Adam | None`" in optimizer
    assert "Literal[...]" not in optimizer
    [uncalled] = found["OptionalMistakes.uncalled"]
    assert "ah.Float is not called; call it: ah.Float(low, high)" in uncalled
    [choice] = found["OptionalMistakes.uncalled_choice"]
    assert "ah.Categorical is not called" in choice


@attrs.frozen(kw_only=True)
class OptionalWithDefaults:
    rate: Annotated[float, ah.Float(0.0, 0.5)] | None = None
    count: Annotated[int, ah.Int(1, 10)] | None = 3
    plain: int | None = None  # a constant: fine


def test_a_marker_in_an_optional_union_with_a_default_is_refused() -> None:
    # The default makes the field a constant: the marker was silently never searched
    # (found by a review); the same fix as without the default.
    found = _problems(OptionalWithDefaults)
    assert set(found) == {"OptionalWithDefaults.rate", "OptionalWithDefaults.count"}
    [rate] = found["OptionalWithDefaults.rate"]
    assert "union member Annotated[float, ah.Float(0.0, 0.5)] is a searched dimension" in rate
    assert "the marker would never be searched" in rate
    assert "`rate: Rate | None`" in rate
    [count] = found["OptionalWithDefaults.count"]
    assert "Annotated[int, ah.Int(1, 10)]" in count


T = TypeVar("T")


@attrs.frozen
class Box(Generic[T]):
    value: T


@attrs.frozen
class Pair(Box[T], Generic[T]):
    other: T


def test_compiling_an_alias_or_an_instance_says_what_was_passed() -> None:
    found = _problems(Box[int])
    [alias] = found["Box"]
    assert "Box[int] is a parametrised generic alias, not a class" in alias
    assert "@attrs.define class IntBox(Box[int])" in alias
    found = _problems(Adam(lr=0.1))
    [instance] = found["Adam"]
    assert "got an instance of Adam (Adam(lr=0.1)), not a class" in instance
    assert "compile_space(Adam)" in instance


# -- generic classes --------------------------------------------------------------------


@attrs.frozen
class FloatBox(Box[Annotated[float, ah.Float(0, 1)]]):
    pass


@attrs.frozen
class IntPair(Pair[Annotated[int, ah.Int(1, 9)]]):
    pass


S = TypeVar("S")


@attrs.frozen
class Rebound(Box[Annotated[float, ah.Float(0, 1)]], Generic[S]):
    """Binds Box's T, and declares its own S: one TypeVar object, two meanings."""

    label: S


@attrs.frozen
class LabelledBox(Rebound[Literal["a", "b"]]):
    pass


@attrs.frozen
class UsesBoxes:
    box: FloatBox
    maybe: IntPair | None


def test_a_subclass_binding_a_generic_class_compiles() -> None:
    space = ah.compile_space(UsesBoxes)
    assert space.names == ("box.value", "maybe", "maybe:IntPair.value", "maybe:IntPair.other")
    box, _, value, other = space.dimensions
    assert (box.kind, box.low, box.high) == (ah.DimensionKind.FLOAT, 0.0, 1.0)
    assert (value.kind, value.low, value.high) == (ah.DimensionKind.INT, 1, 9)
    assert other.kind is ah.DimensionKind.INT
    config = space.decode(space.sample(np.random.default_rng(0)))
    assert isinstance(config.box, FloatBox)
    labelled = ah.compile_space(LabelledBox)
    assert [d.kind for d in labelled.dimensions] == [
        ah.DimensionKind.FLOAT,
        ah.DimensionKind.CATEGORICAL,
    ]
    assert labelled.dimensions[1].choices == ("a", "b")


@attrs.frozen
class UsesGeneric:
    box: Box[Annotated[float, ah.Float(0, 1)]]


def test_unbound_type_variables_are_named() -> None:
    [unbound] = _problems(Box)["Box.value"]
    assert "the type variable T of the generic class Box" in unbound
    assert "@attrs.define class FloatBox(Box[Annotated[float, ah.Float(low, high)]])" in unbound
    # the suggested class name is built from the argument's type, never empty
    [field] = _problems(UsesGeneric)["UsesGeneric.box"]
    assert "@attrs.define class FloatBox(Box[Annotated[float, ah.Float(0, 1)]])" in field


# -- categorical choices ----------------------------------------------------------------


@attrs.frozen(kw_only=True)
class StringChoices:
    act: Annotated[str, ah.Categorical("relu")]
    raw: Annotated[bytes, ah.Categorical(b"ab")]


@attrs.frozen(kw_only=True)
class EqualNumbers:
    scale: Annotated[float, ah.Categorical([1, 1.0, 2])]
    literal: Literal[1, 1.0]  # type: ignore[valid-type]
    big: Annotated[int, ah.Categorical([2**60, 2**60 + 1])]  # equal as floats only
    flag: Literal[1, True, 0, False]  # bools are no numbers


def test_a_string_is_not_a_list_of_choices() -> None:
    # It became the choices ('r', 'e', 'l', 'u').
    found = _problems(StringChoices)
    [act] = found["StringChoices.act"]
    assert "ah.Categorical('relu') was given one string, not a list of choices" in act
    assert "ah.Categorical(['relu', ...])" in act
    [raw] = found["StringChoices.raw"]
    assert "ah.Categorical(b'ab') was given one string" in raw
    assert ah.Categorical("ab") != ah.Categorical(["a", "b"])  # typing caches by equality


def test_equal_numbers_are_one_choice() -> None:
    found = _problems(EqualNumbers)
    assert sorted(found) == ["EqualNumbers.literal", "EqualNumbers.scale"]
    [scale] = found["EqualNumbers.scale"]
    assert "choices 1 and 1.0 are equal numbers" in scale
    assert "remove one" in scale
    [literal] = found["EqualNumbers.literal"]
    assert "Literal choices 1 and 1.0 are equal numbers" in literal


def test_a_marker_used_as_the_annotation_says_to_wrap_it_in_annotated() -> None:
    markers: dict[str, Any] = {
        "lr": ah.Float(1e-4, 1.0, log=True),
        "n": ah.Int(1, 5),
        "c": ah.Categorical(["a", "b"]),
        "g": ah.Float(-3.0, 3.0, mu=0.0, sigma=1.0),
    }
    fields = {name: attrs.field(type=marker) for name, marker in markers.items()}
    found = _problems(attrs.make_class("Bare", fields, frozen=True))
    assert found["Bare.lr"] == [
        "Bare.lr: ah.Float(0.0001, 1.0, log=True) is a marker, not a type; put it inside "
        "Annotated: Annotated[float, ah.Float(0.0001, 1.0, log=True)]"
    ]
    assert "Annotated[int, ah.Int(1, 5)]" in found["Bare.n"][0]
    assert "Annotated[str, ah.Categorical(['a', 'b'])]" in found["Bare.c"][0]
    assert "Annotated[float, ah.Float(-3.0, 3.0, mu=0.0, sigma=1.0)]" in found["Bare.g"][0]
