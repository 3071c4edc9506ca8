"""The compiled tree of a space: how flat parameters map back onto attrs classes."""

from __future__ import annotations

import enum
from typing import Any

import attrs

__all__ = ["ClassNode", "FieldNode", "LeafField", "NestedField", "UnionField"]


@attrs.frozen
class LeafField:
    """A field holding one dimension's value.

    Attributes:
        attr_name: The attribute name (``_x`` for private fields).
        alias: The ``__init__`` argument name (``x`` for ``_x``).
        column: The dimension's column.
        kind: ``"float"``, ``"int"``, ``"value"`` (a categorical whose values are
            stored as they are) or ``"member"`` (a categorical with enum members
            among its values, which are stored by name).
        enum_type: The enum class of a field annotated with an ``Enum``, for messages.
        members: For ``"member"`` leaves, the field's values, parallel to the
            dimension's stored choices.
    """

    attr_name: str
    alias: str
    column: int
    kind: str
    enum_type: type[enum.Enum] | None = None
    members: tuple[Any, ...] = ()


@attrs.frozen
class NestedField:
    """A field holding an always-present nested attrs instance."""

    attr_name: str
    alias: str
    node: ClassNode


@attrs.frozen
class UnionField:
    """A field holding one member of a union, chosen by a branch dimension.

    Attributes:
        column: Column of the branch dimension.
        branches: Branch tag -> compiled class, or ``None`` for the ``"None"`` tag.
        tags: Member class -> its tag, for encoding instances.
    """

    attr_name: str
    alias: str
    column: int
    branches: dict[str, ClassNode | None]
    tags: dict[type, str]


FieldNode = LeafField | NestedField | UnionField


@attrs.frozen
class ClassNode:
    """One attrs class of the space with its non-constant fields."""

    cls: type
    path: str
    fields: tuple[FieldNode, ...]
