"""Distribution markers used inside ``Annotated[...]`` to declare a dimension."""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping, Set
from typing import Any, TypeAlias, TypeGuard, cast

import attrs

from .._types import JSONScalar

__all__ = ["Categorical", "Choice", "Float", "Int"]

#: A categorical choice: a JSON scalar, or an enum member (stored by its name).
Choice: TypeAlias = JSONScalar | enum.Enum


def _typed_fields(marker: object) -> tuple[tuple[str, object], ...]:
    values = attrs.astuple(cast("attrs.AttrsInstance", marker), recurse=False)
    return tuple((type(v).__qualname__, v) for v in values)


# Type-aware equality for the range markers, as Categorical's: typing caches
# Annotated[...] by its metadata, so if Int(1, 10.0) equalled Int(1, 10) one would
# silently stand for the other (and the float bound go unrefused, or be reported on
# the wrong field).
def _typed_eq(self: object, other: object) -> bool:
    return type(other) is type(self) and _typed_fields(self) == _typed_fields(other)


def _typed_hash(self: object) -> int:
    return hash(_typed_fields(self))


@attrs.frozen(eq=False)
class Float:
    """A float dimension on ``[low, high]``.

    Use inside ``Annotated[float, Float(...)]``.

    Attributes:
        low: Lower bound (inclusive); finite.
        high: Upper bound (inclusive); must be greater than ``low``, and ``high - low``
            finite.
        log: Sample uniformly in log space (``low`` must be > 0).
        step: Quantize to ``low + k * step``; ``step`` must divide ``high - low``.
            With ``log``, each grid value is drawn with the share of the log range
            nearer to it than to its neighbours (Hyperopt's ``qloguniform``).
        mu: With ``sigma``, a Gaussian prior: values are drawn from ``N(mu, sigma)``
            truncated to ``[low, high]`` instead of uniformly (Hyperopt's ``normal``);
            with ``log``, their logarithm is (Hyperopt's ``lognormal``). ``sigma`` must
            be at least 1e-4 of the range (of its logarithms with ``log``), and a
            ``mu`` outside the range must leave at least a millionth of the Gaussian's
            mass in it. With ``step``, each grid value is drawn with the prior's mass
            of the half steps either side of it (Hyperopt's ``qnormal`` and
            ``qlognormal``).
        sigma: The Gaussian prior's standard deviation (> 0), given with ``mu``.
    """

    low: float
    high: float
    log: bool = attrs.field(default=False, kw_only=True)
    step: float | None = attrs.field(default=None, kw_only=True)
    mu: float | None = attrs.field(default=None, kw_only=True)
    sigma: float | None = attrs.field(default=None, kw_only=True)

    __eq__ = _typed_eq
    __hash__ = _typed_hash


@attrs.frozen(eq=False)
class Int:
    """An integer dimension on ``[low, high]`` (both inclusive).

    Use inside ``Annotated[int, Int(...)]``.

    Attributes:
        low: Lower bound (inclusive); any integer, numpy's included, within ``±2**53``.
        high: Upper bound (inclusive); must be greater than ``low``.
        log: Sample uniformly in log space (``low`` must be >= 1).
        step: Only values ``low + k * step``; ``step`` must divide ``high - low``.
            With ``log``, each value is drawn with the share of the log range nearer
            to it than to its neighbours, the range reaching half a step beyond each
            end (``Int(8, 1024, log=True, step=8)`` draws 8 a fifth of the time).
    """

    low: int
    high: int
    log: bool = attrs.field(default=False, kw_only=True)
    step: int = attrs.field(default=1, kw_only=True)

    __eq__ = _typed_eq
    __hash__ = _typed_hash


def _as_choices(values: Iterable[Choice]) -> tuple[Choice, ...]:
    return tuple(_plain(value) for value in values)


def _plain(value: Choice) -> Choice:
    """A NumPy scalar choice (``np.arange(1, 10)``, ``np.linspace(0, 1, 5)``: Hyperopt's
    ``hp.choice`` idiom) as the Python scalar it stands for."""
    if type(value).__module__ == "numpy" and getattr(value, "ndim", None) == 0:
        item = getattr(value, "item", None)
        if callable(item):
            return item()  # type: ignore[no-any-return]
    return value


def _as_weights(weights: Iterable[float] | None) -> tuple[Any, ...] | None:
    # Checked by the compiler (which reports them with the field's path); a single
    # number or a string is kept as given, for that message.
    if weights is None:
        return None
    if isinstance(weights, str | bytes | Mapping | Set) or not isinstance(weights, Iterable):
        return (weights,)
    try:
        return tuple(_plain(value) for value in weights)
    except TypeError:  # iterable in name only (a 0-d NumPy array)
        return (weights,)


def _typed_weights(weights: tuple[Any, ...] | None) -> object:
    # True == 1 in Python: a refused weights=[True, 3] must not stand for [1, 3].
    return None if weights is None else tuple((type(w).__qualname__, w) for w in weights)


def _typed(choices: tuple[Choice, ...]) -> tuple[tuple[str, Choice], ...]:
    return tuple((type(c).__qualname__, c) for c in choices)


@attrs.frozen(eq=False)
class Categorical:
    """A categorical dimension over explicit choices.

    ``bool``, ``Literal[...]`` and ``Enum`` fields need no marker; use this for
    choices that are not expressible as a ``Literal``, or to search only some members
    of an ``Enum`` (``Annotated[Act, Categorical([Act.RELU, Act.GELU])]``). Every
    choice must be of the field's annotated type.

    Args:
        choices: The distinct choices, as a list or other iterable (a single string is
            refused when the space is compiled, not split into its characters): str,
            int, finite float, bool, None, or enum members (stored by member name and
            decoded back to the member). NumPy scalars (``np.arange(1, 10)``) are taken
            as the Python scalars they stand for. Equal numbers such as ``1`` and ``1.0`` are
            one choice; ``True`` and ``1`` are two.
        weights: The prior probability of each choice, in the order of ``choices``
            (positive finite numbers, normalised to sum to one; Hyperopt's
            ``hp.pchoice``): random search and TPE's random start draw the choices in
            these proportions; TPE's model then goes by the results and treats the
            choices alike. ``None`` (the default): all alike.
    """

    choices: tuple[Choice, ...] = attrs.field(converter=_as_choices)
    weights: tuple[Any, ...] | None = attrs.field(default=None, converter=_as_weights)
    # A str or bytes given as ``choices`` (an iterable of its characters, never meant
    # as such): kept, with no choices, for the compiler to report with the field path.
    _text: str | bytes | None = attrs.field(default=None, repr=False)

    def __init__(self, choices: Iterable[Choice], weights: Iterable[float] | None = None) -> None:
        if isinstance(choices, str | bytes):
            self.__attrs_init__((), weights, choices)  # type: ignore[attr-defined]
        else:
            self.__attrs_init__(choices, weights)  # type: ignore[attr-defined]

    def __repr__(self) -> str:
        if self._text is not None:
            return f"Categorical({self._text!r})"
        if self.weights is not None:
            return f"Categorical({list(self.choices)!r}, weights={list(self.weights)!r})"
        return f"Categorical({list(self.choices)!r})"

    # Type-aware equality: typing caches Annotated[...] by its metadata, so if
    # Categorical([0]) equalled Categorical([False]) one would silently replace the other.
    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Categorical):
            return NotImplemented
        return (_typed(self.choices), self._text, _typed_weights(self.weights)) == (
            _typed(other.choices),
            other._text,
            _typed_weights(other.weights),
        )

    def __hash__(self) -> int:
        return hash((_typed(self.choices), self._text, _typed_weights(self.weights)))


def is_marker(obj: Any) -> TypeGuard[Float | Int | Categorical]:
    """Whether ``obj`` is one of asynchyper's own markers."""
    return isinstance(obj, Float | Int | Categorical)
