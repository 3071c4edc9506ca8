"""Configurations given by the user (``encode``, ``enqueue``) are stored faithfully or
refused: constants with converters, and subclasses that add fields."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Annotated, Any

import anyio
import attrs
import pytest

import asynchyper as ah
from asynchyper._scheduler._constants import constant_defaults


def _to_tuple(value: Iterable[int]) -> tuple[int, ...]:
    return tuple(value)  # converter=tuple, as the docs write it, but typed for mypy


def _as_tuple(value: Any, field: attrs.Attribute[Any]) -> tuple[int, ...]:
    assert field.name == "widths"
    return tuple(value)


def _with_self(value: Any, instance: Any) -> tuple[int, ...]:
    return tuple(value)


@attrs.frozen(kw_only=True)
class Converted:
    n: Annotated[int, ah.Int(1, 10)]
    layers: tuple[int, ...] = attrs.field(default=[64, 64], converter=_to_tuple)
    rate: float = attrs.field(default="0.5", converter=float)  # type: ignore[assignment]
    widths: tuple[int, ...] = attrs.field(
        factory=lambda: [8],
        converter=attrs.Converter(_as_tuple, takes_field=True),  # type: ignore[misc]
    )
    sized: tuple[int, ...] = attrs.field(
        default=[1],
        converter=attrs.Converter(_with_self, takes_self=True),  # type: ignore[misc]
    )


def _enqueue(*configs: Converted) -> list[str]:
    """Enqueue each configuration in a new study: ``"ok"`` or the refusal's message."""

    async def main() -> list[str]:
        outcomes = []
        async with ah.open_study(Converted, suggester=ah.Random()) as study:
            for config in configs:
                try:
                    trial = await study.enqueue(config)
                except ah.ParameterError as exc:
                    outcomes.append(str(exc))
                else:
                    assert trial.config == config
                    outcomes.append("ok")
        return outcomes

    return anyio.run(main)


def test_constants_with_converters_are_compared_once_converted() -> None:
    # Every enqueue failed: (64, 64) "differs from its default [64, 64]".
    default, changed, changed_by_field = _enqueue(
        Converted(n=3), Converted(n=3, layers=(32,)), Converted(n=3, widths=[4])
    )
    assert default == "ok"
    assert "Converted.layers = (32,) differs from its default (64, 64)" in changed
    assert "Converted.widths = (4,) differs from its default (8,)" in changed_by_field


def test_a_converter_that_needs_the_instance_leaves_the_field_unchecked() -> None:
    assert _enqueue(Converted(n=3, sized=[1])) == ["ok"]


def test_constant_defaults_are_recorded_as_the_trials_get_them() -> None:
    assert constant_defaults(ah.compile_space(Converted)) == {
        "layers": "[64, 64]",
        "rate": "0.5",  # the converted float, not the string written as the default
        "widths": "[8]",
    }


@attrs.frozen(kw_only=True)
class Sgd:
    lr: Annotated[float, ah.Float(1e-4, 1.0, log=True)]


@attrs.frozen(kw_only=True)
class SgdMomentum(Sgd):
    momentum: Annotated[float, ah.Float(0.0, 0.99)]


@attrs.frozen(kw_only=True)
class NamedSgd(Sgd):  # a subclass that adds no field is stored as Sgd
    def describe(self) -> str:
        return f"sgd at {self.lr}"


@attrs.frozen(kw_only=True)
class MaybeSgd:
    opt: Sgd | None


@attrs.frozen(kw_only=True)
class Nested:
    opt: Sgd


def test_a_subclass_adding_fields_is_not_a_member_of_the_union() -> None:
    # AdamW-like subclasses were encoded as their base, dropping their own fields.
    space = ah.compile_space(MaybeSgd)
    with pytest.raises(ah.ParameterError) as caught:
        space.encode(MaybeSgd(opt=SgdMomentum(lr=0.1, momentum=0.9)))
    message = str(caught.value)
    assert "SgdMomentum is not a member of the union ['Sgd', 'None']" in message
    assert "adds the field(s) momentum" in message
    assert "Pass an instance of Sgd, or add SgdMomentum to the union" in message
    assert space.encode(MaybeSgd(opt=NamedSgd(lr=0.1))) == {"opt": "Sgd", "opt:Sgd.lr": 0.1}


def test_a_subclass_adding_fields_is_refused_where_a_class_is_declared() -> None:
    nested = ah.compile_space(Nested)
    with pytest.raises(ah.ParameterError, match="SgdMomentum is not the declared class Sgd"):
        nested.encode(Nested(opt=SgdMomentum(lr=0.1, momentum=0.9)))
    assert nested.encode(Nested(opt=NamedSgd(lr=0.1))) == {"opt.lr": 0.1}
    root = ah.compile_space(Sgd)
    with pytest.raises(ah.ParameterError, match="use SgdMomentum as the space class"):
        root.encode(SgdMomentum(lr=0.1, momentum=0.9))
