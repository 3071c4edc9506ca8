"""What the analysis knows about each parameter: from a Space, its JSON form, or the data."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import attrs
import numpy as np
import numpy.typing as npt

from .._errors import ParameterError, SearchSpaceError
from .._space import Space
from .._types import JSONScalar
from ._trials import TrialLike

__all__ = ["ParamSpec", "SpaceLike", "param_specs"]

#: What the public functions accept as ``space``.
SpaceLike = Space[Any] | Sequence[Mapping[str, Any]] | None

_KINDS = ("float", "int", "categorical")


def _key(value: object) -> tuple[str, object]:
    # keeps True, 1 and 1.0-vs-"1" apart; 1 and 1.0 match (JSON may drop ".0")
    if isinstance(value, bool):
        return ("bool", value)
    if isinstance(value, int | float):
        return ("number", float(value))
    return (type(value).__name__, value)


def _choice_order(value: JSONScalar) -> tuple[int, float, str]:
    """A sort key for inferred categorical choices: None, bools, numbers, then strings."""
    if value is None:
        return (0, 0.0, "")
    if isinstance(value, bool):
        return (1, float(value), "")
    if isinstance(value, int | float):
        return (2, float(value), "")
    return (3, 0.0, str(value))


@attrs.frozen(kw_only=True)
class ParamSpec:
    """One flat parameter as the analysis sees it.

    Attributes:
        name: Flat, branch-tagged name (``"model:SVM.C"``).
        kind: ``"float"``, ``"int"`` or ``"categorical"``.
        low: Lower bound of a numeric parameter (observed minimum when inferred).
        high: Upper bound of a numeric parameter (observed maximum when inferred).
        log: Whether the parameter lives on a log scale.
        step: Grid step of a numeric parameter, if any.
        choices: The values of a categorical parameter.
        is_branch: Whether it chooses between the members of a union field.
        parent: The branch parameter that gates it, if any.
        parent_choice: The parent's value under which it is active.
    """

    name: str
    kind: str
    low: float | None = None
    high: float | None = None
    log: bool = False
    step: float | None = None
    choices: tuple[JSONScalar, ...] = ()
    is_branch: bool = False
    parent: str | None = None
    parent_choice: JSONScalar = None
    _lookup: dict[tuple[str, object], int] = attrs.field(init=False, eq=False, repr=False)

    def __attrs_post_init__(self) -> None:
        lookup = {_key(c): i for i, c in enumerate(self.choices)}
        object.__setattr__(self, "_lookup", lookup)

    @property
    def is_categorical(self) -> bool:
        """Whether values are unordered choices."""
        return self.kind == "categorical"

    @property
    def is_conditional(self) -> bool:
        """Whether the parameter is active only under some branch."""
        return self.parent is not None

    def index(self, value: JSONScalar) -> int:
        """Index of a categorical value in :attr:`choices`.

        Raises:
            ParameterError: The value is not one of the choices.
        """
        index = self._lookup.get(_key(value))
        if index is None:
            msg = (
                f"parameter {self.name!r} = {value!r} is not one of the space's choices "
                f"{list(self.choices)!r}; pass the space the study was run with"
            )
            raise ParameterError(msg)
        return index

    def scaled(self, values: Iterable[JSONScalar]) -> npt.NDArray[np.float64]:
        """Values as numbers on the parameter's natural axis.

        Categorical values become their choice index; log parameters their logarithm.
        """
        if self.is_categorical:
            return np.array([self.index(v) for v in values], dtype=np.float64)
        numbers = np.array(list(values), dtype=np.float64)
        return np.log(numbers) if self.log else numbers

    def scaled_bounds(self) -> tuple[float, float]:
        """The domain on the :meth:`scaled` axis."""
        if self.is_categorical:
            return (0.0, float(max(len(self.choices) - 1, 0)))
        assert self.low is not None
        assert self.high is not None
        if self.log:
            return (math.log(self.low), math.log(self.high))
        return (float(self.low), float(self.high))


def param_specs(trials: Sequence[TrialLike], space: SpaceLike) -> tuple[ParamSpec, ...]:
    """Describe every parameter, from the space when given, else from the trials.

    Args:
        trials: The trials to analyse (any state).
        space: A compiled :class:`Space`, its :meth:`Space.describe` output, or ``None``
            to infer kinds, bounds and branches from the values.

    Returns:
        One spec per parameter, parents before their children.

    Raises:
        SearchSpaceError: A description entry is malformed.
        ParameterError: A trial has a parameter or value the space does not know.
    """
    if space is None:
        return _infer(trials)
    description = space.describe() if isinstance(space, Space) else space
    specs = tuple(_from_description(i, entry) for i, entry in enumerate(description))
    known = {s.name: s for s in specs}
    for trial in trials:
        for name, value in trial.params.items():
            spec = known.get(name)
            if spec is None:
                msg = (
                    f"trial {trial.number} has parameter {name!r}, which the given space "
                    f"does not describe (known: {sorted(known)!r}); pass the study's own space"
                )
                raise ParameterError(msg)
            if spec.is_categorical:
                spec.index(value)
    return specs


def _from_description(position: int, entry: Mapping[str, Any]) -> ParamSpec:
    try:
        name = entry["name"]
        kind = entry["kind"]
    except KeyError as exc:
        msg = (
            f"space description entry {position} has no {exc.args[0]!r} key; pass a "
            "compiled Space or the list from Space.describe()"
        )
        raise SearchSpaceError(msg) from None
    if kind not in _KINDS:
        msg = f"space description entry {name!r} has kind {kind!r}; expected one of {_KINDS}"
        raise SearchSpaceError(msg)
    if kind != "categorical" and (entry.get("low") is None or entry.get("high") is None):
        msg = f"space description entry {name!r} is {kind} but lacks 'low' or 'high'"
        raise SearchSpaceError(msg)
    return ParamSpec(
        name=str(name),
        kind=str(kind),
        low=None if entry.get("low") is None else float(entry["low"]),
        high=None if entry.get("high") is None else float(entry["high"]),
        log=bool(entry.get("log", False)),
        step=None if entry.get("step") is None else float(entry["step"]),
        choices=tuple(entry.get("choices") or ()),
        is_branch=bool(entry.get("is_branch", False)),
        parent=entry.get("parent"),
        parent_choice=entry.get("parent_choice"),
    )


def _infer(trials: Sequence[TrialLike]) -> tuple[ParamSpec, ...]:
    values: dict[str, list[JSONScalar]] = {}
    for trial in sorted(trials, key=lambda t: t.number):
        for name, value in trial.params.items():
            values.setdefault(name, []).append(value)
    gates = {name: _gate(name) for name in values}
    parents = {g[0] for g in gates.values() if g is not None and g[0] in values}
    specs = []
    for name, seen in values.items():
        gate = gates[name]
        parent, parent_choice = gate if gate is not None and gate[0] in values else (None, None)
        numeric = all(isinstance(v, int | float) and not isinstance(v, bool) for v in seen)
        if name in parents or not numeric:
            choices = tuple(sorted({_key(v): v for v in seen}.values(), key=_choice_order))
            specs.append(
                ParamSpec(
                    name=name,
                    kind="categorical",
                    choices=choices,
                    is_branch=name in parents,
                    parent=parent,
                    parent_choice=parent_choice,
                )
            )
            continue
        is_int = all(isinstance(v, int) for v in seen)
        numbers = [float(v) for v in seen if isinstance(v, int | float)]
        specs.append(
            ParamSpec(
                name=name,
                kind="int" if is_int else "float",
                low=min(numbers),
                high=max(numbers),
                step=1.0 if is_int else None,
                parent=parent,
                parent_choice=parent_choice,
            )
        )
    return tuple(specs)


def _gate(name: str) -> tuple[str, str] | None:
    """``"model:SVM.C"`` -> ``("model", "SVM")`` by the flat naming rule, else None."""
    colon = name.rfind(":")
    if colon <= 0:
        return None
    tag = name[colon + 1 :].split(".", 1)[0]
    return (name[:colon], tag)
