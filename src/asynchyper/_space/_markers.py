"""Distribution markers used inside ``Annotated[...]`` to declare a dimension."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import attrs

from .._types import JSONScalar

__all__ = ["Categorical", "Float", "Int"]


@attrs.frozen
class Float:
    """A float dimension on ``[low, high]``.

    Use inside ``Annotated[float, Float(...)]``.

    Attributes:
        low: Lower bound (inclusive).
        high: Upper bound (inclusive); must be greater than ``low``.
        log: Sample uniformly in log space (``low`` must be > 0).
        step: Quantize to ``low + k * step``; ``step`` must divide ``high - low``.
            Cannot be combined with ``log``.
    """

    low: float
    high: float
    log: bool = attrs.field(default=False, kw_only=True)
    step: float | None = attrs.field(default=None, kw_only=True)


@attrs.frozen
class Int:
    """An integer dimension on ``[low, high]`` (both inclusive).

    Use inside ``Annotated[int, Int(...)]``.

    Attributes:
        low: Lower bound (inclusive).
        high: Upper bound (inclusive); must be greater than ``low``.
        log: Sample uniformly in log space (``low`` must be >= 1).
        step: Only values ``low + k * step``; ``step`` must divide ``high - low``.
    """

    low: int
    high: int
    log: bool = attrs.field(default=False, kw_only=True)
    step: int = attrs.field(default=1, kw_only=True)


def _as_choices(values: Iterable[JSONScalar]) -> tuple[JSONScalar, ...]:
    return tuple(values)


def _typed(choices: tuple[JSONScalar, ...]) -> tuple[tuple[str, JSONScalar], ...]:
    return tuple((type(c).__name__, c) for c in choices)


@attrs.frozen(eq=False)
class Categorical:
    """A categorical dimension over explicit JSON-scalar choices.

    ``bool``, ``Literal[...]`` and ``Enum`` fields need no marker; use this for
    choices that are not expressible as a ``Literal``.

    Args:
        choices: The distinct choices (str, int, float, bool or None).
    """

    choices: tuple[JSONScalar, ...] = attrs.field(converter=_as_choices)

    def __init__(self, choices: Iterable[JSONScalar]) -> None:
        self.__attrs_init__(choices)  # type: ignore[attr-defined]

    def __repr__(self) -> str:
        return f"Categorical({list(self.choices)!r})"

    # Type-aware equality: typing caches Annotated[...] by its metadata, so if
    # Categorical([0]) equalled Categorical([False]) one would silently replace the other.
    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Categorical):
            return NotImplemented
        return _typed(self.choices) == _typed(other.choices)

    def __hash__(self) -> int:
        return hash(_typed(self.choices))


def is_marker(obj: Any) -> bool:
    """Whether ``obj`` is one of asynchyper's own markers."""
    return isinstance(obj, Float | Int | Categorical)
