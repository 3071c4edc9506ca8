"""Randomly generated space declarations: a hypothesis strategy of JSON specs,
a builder that turns a spec into real attrs classes, and the dimensions the spec
should compile to (worked out independently of the compiler).

A spec is plain JSON so that a subprocess can rebuild the same classes.
"""

from __future__ import annotations

import enum
import functools
import itertools
import json
import math
import operator
from collections.abc import Iterator
from typing import Annotated, Any, Literal

import attrs
from hypothesis import strategies as st

import asynchyper as ah

__all__ = ["build", "expected_dimensions", "numeric_leaves", "space_specs"]

Spec = dict[str, Any]

_json_scalars = st.one_of(
    st.text(alphabet="abcxyz", max_size=3),
    st.integers(-5, 5),
    st.booleans(),
    st.none(),
    st.integers(-8, 8).filter(lambda i: i != 0).map(lambda i: i / 4),
)


def _value_of(choice: Any) -> tuple[str, Any]:
    """What makes two choices one value: equal numbers (``1``, ``1.0``) are refused as
    duplicates, while ``True`` and ``1`` are two choices."""
    if isinstance(choice, int | float) and not isinstance(choice, bool):
        return ("number", choice)
    return ("json", json.dumps(choice))


_choices = st.lists(_json_scalars, min_size=1, max_size=4, unique_by=_value_of)

_plain_float = st.builds(
    lambda low, width: {"kind": "float", "low": low, "high": low + width, "log": False},
    st.integers(-40, 40).map(lambda i: i / 4),
    st.sampled_from([0.5, 1.0, 3.7, 100.0]),
)
_log_float = st.builds(
    lambda low, factor: {"kind": "float", "low": low, "high": low * factor, "log": True},
    st.sampled_from([1e-5, 1e-3, 0.5, 2.0]),
    st.sampled_from([1.5, 10.0, 1e3, 1e6]),
)
_gaussian_float = st.builds(
    lambda low, width, where, spread: {
        "kind": "float",
        "low": low,
        "high": low + width,
        "log": False,
        "mu": low + where * width,
        "sigma": spread * width,
    },
    st.integers(-40, 40).map(lambda i: i / 4),
    st.sampled_from([0.5, 1.0, 3.7, 100.0]),
    st.floats(0.0, 1.0),
    st.sampled_from([0.01, 0.2, 1.0, 5.0]),
)
_log_gaussian_float = st.builds(
    lambda low, factor, where, spread: {
        "kind": "float",
        "low": low,
        "high": low * factor,
        "log": True,
        "mu": math.log(low) + where * math.log(factor),
        "sigma": spread * math.log(factor),
    },
    st.sampled_from([1e-5, 1e-3, 0.5, 2.0]),
    st.sampled_from([1.5, 10.0, 1e3, 1e6]),
    st.floats(0.0, 1.0),
    st.sampled_from([0.01, 0.2, 1.0, 5.0]),
)
_step_gaussian_float = st.builds(
    lambda low, step, count, where, spread: {
        "kind": "float",
        "low": low,
        "high": low + count * step,
        "log": False,
        "step": step,
        "mu": low + where * count * step,
        "sigma": spread * count * step,
    },
    st.integers(-20, 20).map(lambda i: i / 4),
    st.sampled_from([0.05, 0.1, 0.25, 1.5]),
    st.integers(1, 30),
    st.floats(0.0, 1.0),
    st.sampled_from([0.01, 0.2, 1.0, 5.0]),
)
_step_float = st.builds(
    lambda low, step, count: {
        "kind": "float",
        "low": low,
        "high": low + count * step,
        "log": False,
        "step": step,
    },
    st.integers(-20, 20).map(lambda i: i / 4),
    st.sampled_from([0.05, 0.1, 0.25, 1.5]),
    st.integers(1, 30),
)
_plain_int = st.builds(
    lambda low, width, step: {
        "kind": "int",
        "low": low,
        "high": low + width * step,
        "log": False,
        "step": step,
    },
    st.integers(-100, 100),
    st.integers(1, 50),
    st.integers(1, 5),
)
_log_int = st.builds(
    lambda low, width: {"kind": "int", "low": low, "high": low + width, "log": True, "step": 1},
    st.integers(1, 50),
    st.integers(1, 10_000),
)
_log_step_float = st.builds(
    lambda low, step, count: {
        "kind": "float",
        "low": low,
        "high": low + count * step,
        "log": True,
        "step": step,
    },
    st.sampled_from([1e-3, 0.05, 0.5, 2.0]),
    st.sampled_from([1e-3, 0.1, 0.25, 1.5]),
    st.integers(1, 30),
)
_log_step_int = st.builds(
    lambda low, width, step: {
        "kind": "int",
        "low": low,
        "high": low + width * step,
        "log": True,
        "step": step,
    },
    st.integers(1, 50),
    st.integers(1, 500),
    st.integers(2, 16),
)
_leaf = st.one_of(
    _plain_float,
    _log_float,
    _gaussian_float,
    _log_gaussian_float,
    _step_gaussian_float,
    _step_float,
    _plain_int,
    _log_int,
    _log_step_float,
    _log_step_int,
    st.just({"kind": "bool"}),
    st.builds(lambda values: {"kind": "literal", "values": values}, _choices),
    st.builds(lambda values: {"kind": "categorical", "choices": values}, _choices),
    st.builds(
        lambda names: {"kind": "enum", "members": names},
        st.lists(st.sampled_from(["A", "B", "C", "D", "E"]), min_size=1, max_size=4, unique=True),
    ),
    st.builds(lambda value: {"kind": "const", "value": value}, st.integers(-3, 3)),
)


def _class(fields: st.SearchStrategy[Spec], max_fields: int) -> st.SearchStrategy[Spec]:
    return st.builds(
        lambda fs, frozen, slots: {"fields": fs, "frozen": frozen, "slots": slots},
        st.lists(
            st.builds(lambda t, private: {"type": t, "private": private}, fields, st.booleans()),
            max_size=max_fields,
        ),
        st.booleans(),
        st.booleans(),
    )


def _field_types(depth: int) -> st.SearchStrategy[Spec]:
    if depth == 0:
        return _leaf
    inner = _class(_field_types(depth - 1), max_fields=3)
    return st.one_of(
        _leaf,
        _leaf,
        st.builds(lambda cls: {"kind": "nested", "cls": cls}, inner),
        st.builds(
            lambda members, optional: {
                "kind": "union",
                "members": members,
                "optional": optional or len(members) == 1,
            },
            st.lists(inner, min_size=1, max_size=3),
            st.booleans(),
        ),
    )


def space_specs(depth: int = 3) -> st.SearchStrategy[Spec]:
    """Specs of whole spaces: nesting and unions up to ``depth`` levels deep."""
    return _class(_field_types(depth), max_fields=5).map(_name_classes)


def _name_classes(spec: Spec) -> Spec:
    """Give every class a unique name (``C0``, ``C1``, ...) in depth-first order."""
    counter = itertools.count()

    def visit(cls: Spec) -> Spec:
        named = {**cls, "name": f"C{next(counter)}", "fields": []}
        for field in cls["fields"]:
            kind = field["type"]["kind"]
            t = field["type"]
            if kind == "nested":
                t = {**t, "cls": visit(t["cls"])}
            elif kind == "union":
                t = {**t, "members": [visit(m) for m in t["members"]]}
            named["fields"].append({**field, "type": t})
        return named

    return visit(spec)


def _field_name(index: int, field: Spec) -> str:
    return ("_" if field["private"] else "") + f"f{index}"


# -- building real classes ---------------------------------------------------------
def build(spec: Spec) -> type:
    """Build the attrs class a (named) spec describes."""
    fields: dict[str, Any] = {}
    for index, field in enumerate(spec["fields"]):
        hint, default = _hint(field["type"], f"{spec['name']}F{index}")
        if default is attrs.NOTHING:
            fields[_field_name(index, field)] = attrs.field(type=hint)
        else:
            fields[_field_name(index, field)] = attrs.field(type=hint, default=default)
    cls: type = attrs.make_class(
        spec["name"], fields, frozen=spec["frozen"], slots=spec["slots"], kw_only=True
    )
    return cls


def _hint(t: Spec, name: str) -> tuple[Any, Any]:
    kind = t["kind"]
    if kind == "float":
        marker: Any = ah.Float(
            t["low"],
            t["high"],
            log=t["log"],
            step=t.get("step"),
            mu=t.get("mu"),
            sigma=t.get("sigma"),
        )
        return Annotated[float, marker], attrs.NOTHING
    if kind == "int":
        marker = ah.Int(t["low"], t["high"], log=t["log"], step=t["step"])
        return Annotated[int, marker], attrs.NOTHING
    if kind == "bool":
        return bool, attrs.NOTHING
    if kind == "literal":
        return Literal[tuple(t["values"])], attrs.NOTHING
    if kind == "categorical":
        return Annotated[object, ah.Categorical(t["choices"])], attrs.NOTHING
    if kind == "enum":
        return enum.Enum(f"E{name}", t["members"]), attrs.NOTHING
    if kind == "const":
        return int, t["value"]
    if kind == "nested":
        return build(t["cls"]), attrs.NOTHING
    members: list[Any] = [build(m) for m in t["members"]]
    if t["optional"]:
        members.append(type(None))
    return functools.reduce(operator.or_, members), attrs.NOTHING


# -- what the compiler should produce -----------------------------------------------
def expected_dimensions(spec: Spec) -> list[dict[str, Any]]:
    """The dimensions a spec should compile to, per the naming rules in DESIGN.md."""
    out: list[dict[str, Any]] = []
    _expect_class(spec, "", None, None, out)
    return out


def _expect_class(
    spec: Spec, prefix: str, parent: str | None, choice: str | None, out: list[dict[str, Any]]
) -> None:
    for index, field in enumerate(spec["fields"]):
        name = prefix + f"f{index}"
        t = field["type"]
        kind = t["kind"]
        base = {"name": name, "parent": parent, "parent_choice": choice, "is_branch": False}
        if kind == "const":
            continue
        if kind == "nested":
            _expect_class(t["cls"], name + ".", parent, choice, out)
        elif kind == "union":
            tags = [m["name"] for m in t["members"]] + (["None"] if t["optional"] else [])
            out.append({**base, "kind": "categorical", "choices": tags, "is_branch": True})
            for member in t["members"]:
                _expect_class(member, f"{name}:{member['name']}.", name, member["name"], out)
        elif kind in ("float", "int"):
            out.append(
                {
                    **base,
                    "kind": kind,
                    "low": t["low"],
                    "high": t["high"],
                    "log": t["log"],
                    "step": t.get("step"),
                    "choices": [],
                }
            )
        else:
            choices = {
                "bool": [False, True],
                "literal": t.get("values"),
                "categorical": t.get("choices"),
                "enum": t.get("members"),
            }[kind]
            out.append({**base, "kind": "categorical", "choices": choices})


def numeric_leaves(spec: Spec) -> Iterator[Spec]:
    """Every float/int field type of a spec (mutable dicts inside the spec)."""
    for field in spec["fields"]:
        t = field["type"]
        if t["kind"] in ("float", "int"):
            yield t
        elif t["kind"] == "nested":
            yield from numeric_leaves(t["cls"])
        elif t["kind"] == "union":
            for member in t["members"]:
                yield from numeric_leaves(member)
