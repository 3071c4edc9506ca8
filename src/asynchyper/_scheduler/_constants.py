"""Check that a given configuration keeps the space's constant fields at their defaults."""

from __future__ import annotations

from typing import Any, cast

import attrs

from .._errors import ParameterError
from .._space import Space
from .._space._tree import ClassNode, LeafField, NestedField, UnionField

__all__ = ["check_constants"]


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
        default = _default_of(field)
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


def _same(value: object, default: object) -> bool:
    """Whether ``value`` equals ``default`` (values without a plain ``==`` count as equal
    only when they are the same object)."""
    if value is default:
        return True
    try:
        return bool(value == default)
    except Exception:  # e.g. NumPy arrays: == is elementwise
        return False
