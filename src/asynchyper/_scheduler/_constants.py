"""Check that a given configuration keeps the space's constant fields at their defaults."""

from __future__ import annotations

import enum
import json
from collections.abc import Mapping
from typing import Any, cast

import attrs

from .._errors import ParameterError
from .._space import Space
from .._space._tree import ClassNode, LeafField, NestedField, UnionField
from .._types import JSONValue

__all__ = ["CONSTANTS_ATTR", "changed_constants", "check_constants", "constant_defaults"]


def check_constants(space: Space[Any], config: object, *, what: str) -> None:
    """Raise unless every constant field of ``config`` equals its default.

    A field with a default and no marker is a constant: it is not stored, so every
    trial is built with its default. A configuration that sets it otherwise cannot be
    stored faithfully and must be refused rather than silently changed.

    Args:
        space: The compiled space ``config`` belongs to.
        config: An instance of the space class (already accepted by ``encode``).
        what: The operation, for the message (e.g. ``"enqueue()"``).

    Raises:
        ParameterError: A constant differs from its default; the message names the
            field, the value and the fix.
    """
    problems: list[str] = []
    # The compiled tree tells constants (not in it) from dimensions.
    _check_node(space._root, config, space.cls.__qualname__, problems)
    if not problems:
        return
    listed = "; ".join(problems)
    msg = (
        f"{what} cannot store this configuration: {listed}. A field with a default and no "
        "marker is a constant of the space, so every trial uses its default. Use the "
        "default, or make the field a dimension (a marker such as Annotated[int, "
        "ah.Int(low, high)], or a Literal of the values to try)"
    )
    raise ParameterError(msg)


def _check_node(node: ClassNode, obj: object, path: str, problems: list[str]) -> None:
    """Collect the constants of ``obj`` (an instance of ``node.cls``) that were changed."""
    searched = {field.attr_name: field for field in node.fields}
    for field in attrs.fields(cast("type[attrs.AttrsInstance]", type(obj))):
        value = getattr(obj, field.name)
        where = f"{path}.{field.name}"
        known = searched.get(field.name)
        if isinstance(known, LeafField):
            continue
        if isinstance(known, NestedField):
            _check_node(known.node, value, where, problems)
            continue
        if known is not None:  # a union: check the chosen branch, if it is a class
            tag = _tag_of(known, value)
            branch = None if tag is None else known.branches.get(tag)
            if branch is not None:
                _check_node(branch, value, f"{where}[{tag}]", problems)
            continue
        if not field.init:
            continue  # derived in __attrs_post_init__ or fixed: never given by the user
        # The instance holds the converted value: compare it with the converted default.
        default = _converted(field, _default_of(field))
        if default is not _UNCHECKED and not _same(value, default):
            problems.append(f"{where} = {value!r} differs from its default {default!r}")


#: Stands for a default that cannot be known without the other fields.
_UNCHECKED = object()


def _tag_of(field: UnionField, value: object) -> str | None:
    """The branch tag of a union member (as ``Space.encode`` finds it)."""
    tag = field.tags.get(type(value))
    if tag is None:  # an instance of a subclass of one member
        tag = next((t for cls, t in field.tags.items() if isinstance(value, cls)), None)
    return tag


def _default_of(field: attrs.Attribute[Any]) -> object:
    """The value attrs would give the field when it is not passed."""
    default: Any = field.default
    if isinstance(default, attrs.Factory):  # type: ignore[arg-type]  # a class at run time
        if default.takes_self:
            return _UNCHECKED  # depends on the other fields
        return default.factory()
    if default is attrs.NOTHING:
        return _UNCHECKED
    return default


def _converted(field: attrs.Attribute[Any], default: object) -> object:
    """``default`` passed through the field's converter, as attrs does in ``__init__``.

    A converter that needs the instance (``attrs.Converter(..., takes_self=True)``, or
    a ``pipe`` holding one), or that fails on the default alone, leaves the field
    unchecked.
    """
    converter: Any = field.converter
    if default is _UNCHECKED or converter is None:
        return default
    try:
        if not isinstance(converter, attrs.Converter):
            return converter(default)
        wrapper: Any = converter  # attrs' stubs do not declare its attributes
        if wrapper.takes_self:
            return _UNCHECKED
        if wrapper.takes_field:
            return wrapper.converter(default, field)
        return wrapper.converter(default)
    except Exception:
        return _UNCHECKED


def _same(value: object, default: object) -> bool:
    """Whether ``value`` equals ``default`` (values without a plain ``==`` count as equal
    only when they are the same object)."""
    if value is default:
        return True
    try:
        return bool(value == default)
    except Exception:  # e.g. NumPy arrays: == is elementwise
        return False


#: The study attribute that holds the constants' defaults when the study was created.
CONSTANTS_ATTR = "asynchyper.constants"


def constant_defaults(space: Space[Any]) -> dict[str, str]:
    """Every constant field's default, as JSON text, by field path (branches included).

    A constant is not stored with the trials, so the study keeps these to notice a
    changed default when it is opened again. A default is recorded as the field's
    converter (if any) makes it, the value every trial gets. Defaults that do not
    survive JSON (an arbitrary object, whose ``repr`` may hold an address), and
    factories or converters that need the other fields, are left out.

    Args:
        space: The compiled space.

    Returns:
        ``{"dataset": '"v1"', "model[SVM].cache": "200", ...}`` (paths from the space
        class, without its name, so that renaming the class changes nothing).
    """
    found: dict[str, str] = {}
    _collect(space._root, "", found)
    return found


def changed_constants(stored: JSONValue, current: Mapping[str, str]) -> list[str]:
    """The constants whose default differs from the one recorded with the study.

    Args:
        stored: The recorded defaults (a study attribute; anything else is ignored).
        current: This space's :func:`constant_defaults`.

    Returns:
        One line per changed constant (added or removed ones are not changes).
    """
    if not isinstance(stored, dict):
        return []
    return [
        f"{path} = {current[path]} (the study was created with {before})"
        for path, before in stored.items()
        if path in current and isinstance(before, str) and current[path] != before
    ]


def _collect(node: ClassNode, path: str, found: dict[str, str]) -> None:
    searched = {field.attr_name: field for field in node.fields}
    for field in attrs.fields(cast("type[attrs.AttrsInstance]", node.cls)):
        where = f"{path}.{field.name}" if path else field.name
        known = searched.get(field.name)
        if isinstance(known, LeafField):
            continue
        if isinstance(known, NestedField):
            _collect(known.node, where, found)
            continue
        if isinstance(known, UnionField):
            for tag, branch in known.branches.items():
                if branch is not None:
                    _collect(branch, f"{where}[{tag}]", found)
            continue
        # Converted, as the trials get it (a change of converter is a change too).
        default = _converted(field, _default_of(field)) if field.init else _UNCHECKED
        if default is _UNCHECKED:
            continue
        if isinstance(default, enum.Enum):
            default = f"{type(default).__qualname__}.{default.name}"
        try:
            found[where] = json.dumps(default, sort_keys=True, allow_nan=True)
        except (TypeError, ValueError):
            continue  # not JSON: its text may differ from run to run
