"""The compiler: attrs class -> flat dimensions + a tree that maps them back.

It walks the class once, collecting *every* declaration problem as a
:class:`SpaceDeclarationError` and raising them together as one ``ExceptionGroup``.
"""

from __future__ import annotations

import enum
import json
import math
import numbers
import reprlib
import threading
import types
import typing
import weakref
from collections.abc import Mapping, Set
from typing import Annotated, Any, Literal, TypeVar, get_args, get_origin

import attrs
import numpy as np

from .._errors import InvalidSpaceError, SpaceDeclarationError
from ._codec import choice_key
from ._dimension import Dimension, DimensionKind
from ._markers import Categorical, Choice, Float, Int, is_marker
from ._normal import NormalPrior
from ._tree import ClassNode, FieldNode, LeafField, NestedField, UnionField

if typing.TYPE_CHECKING:
    from ._space import Space

__all__ = ["compile_space"]

T = TypeVar("T")

_NONE_TAG = "None"
_BOUND_NAMES = ("gt", "ge", "lt", "le")
#: Int bounds must stay within this magnitude: numeric vectors are float64, which
#: holds every integer up to 2**53 and not every one beyond.
_MAX_EXACT_INT = 2**53

# Weak both ways: a class built at run time (per request, from a JSON spec, say) and
# its space are freed once nothing else holds them. A Space refers to its class, so a
# Space held strongly here would keep its own key alive for ever; and the space is not
# stored on the class, whose __dict__ a by-value pickle (cloudpickle: Dask) would copy
# and rebuild before the class is whole. A space no longer held is compiled again.
_cache: weakref.WeakKeyDictionary[type, weakref.ref[Space[Any]]] = weakref.WeakKeyDictionary()
_cache_lock = threading.Lock()


def _cached(cls: Any) -> Space[Any] | None:
    """The space compiled earlier for ``cls``, if it is still alive."""
    try:
        ref = _cache.get(cls)
    except TypeError:  # not weak-referenceable (not a class at all)
        return None
    return ref() if ref is not None else None


def _remember(cls: type, space: Space[Any]) -> None:
    try:
        with _cache_lock:
            _cache[cls] = weakref.ref(space)
    except TypeError:  # a class that refuses weak references: not cached
        pass


def compile_space(cls: type[T]) -> Space[T]:
    """Compile an attrs class into a :class:`Space` (cached per class).

    Args:
        cls: An attrs class whose fields are annotated with distributions.

    Returns:
        The compiled space.

    Raises:
        InvalidSpaceError: An ``ExceptionGroup`` of :class:`SpaceDeclarationError`,
            one per problem found, each naming the dotted field path; raised with
            every problem at once.
    """
    cached = _cached(cls)
    if cached is not None:
        return cached
    from ._space import Space  # noqa: PLC0415 - _space imports this module lazily too

    compiler = _Compiler()
    root = compiler.compile_root(cls)
    if compiler.errors:
        name = getattr(cls, "__qualname__", repr(cls))
        count = len(compiler.errors)
        msg = f"invalid search space {name}: {count} problem{'s' if count > 1 else ''}"
        raise InvalidSpaceError(msg, compiler.errors)
    assert root is not None
    space: Space[T] = Space._from_compiled(cls, root, tuple(compiler.dimensions), compiler.enums)
    _remember(cls, space)
    return space


def _is_json_scalar(value: object) -> bool:
    if value is None or isinstance(value, str | bool):
        return True
    if isinstance(value, int):
        return type(value) is int
    if isinstance(value, float):
        return type(value) is float and math.isfinite(value)
    return False


#: The least share of a Gaussian prior's mass that a range must hold when the mean lies
#: outside it: below it, the prior would crowd every draw at one end.
_LEAST_PRIOR_MASS = 1e-6
#: The same with the mean inside: a prior this flat draws to about 1e-7 of the range.
_LEAST_FLAT_MASS = 1e-9
#: The narrowest Gaussian prior, as a share of the range: TPE's bandwidths go down to a
#: hundredth of sigma, and kernels much narrower than 1e-6 of the range lose their
#: precision in its arithmetic.
_NARROWEST_PRIOR = 1e-4


def _is_number(value: object) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _is_weight(value: object) -> bool:
    """A positive number that is finite as a float (an int past the float limit is not)."""
    if not (_is_number(value) and value > 0):  # type: ignore[operator] # a Real here
        return False
    try:
        return math.isfinite(float(value))  # type: ignore[arg-type] # a Real here
    except OverflowError:
        return False


def _is_integer(value: object) -> bool:
    """An int, numpy's included; never a bool."""
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _is_finite(value: object) -> bool:
    """Finiteness of a number, without overflowing on ints too large for a float."""
    if isinstance(value, numbers.Integral):
        return True
    return isinstance(value, numbers.Real) and math.isfinite(value)


def _to_float(value: float) -> float:
    """``float(value)``, but ``±inf`` for an int too large for a float."""
    try:
        return float(value)
    except OverflowError:
        return math.inf if value > 0 else -math.inf


def _format(value: float) -> str:
    """A short human form of a computed bound (``0.8999999999999999`` -> ``0.9``).

    An int is written in full: ``Int`` bounds reach 2**53, beyond 12 digits.
    """
    if isinstance(value, int):
        return str(value)
    return f"{value:.12g}"


@attrs.frozen
class _Site:
    """Where a field sits: its attribute, dotted path, flat name and gating branch."""

    attribute: attrs.Attribute[Any]
    path: str
    name: str
    parent: str | None
    parent_choice: str | None
    owner: type | None = None  # the class that declares the field (a base, maybe)

    @property
    def alias(self) -> str:
        return self.attribute.alias or self.attribute.name


class _Compiler:
    """One compilation: collects dimensions and errors while walking the classes."""

    def __init__(self) -> None:
        self.errors: list[SpaceDeclarationError] = []
        self.dimensions: list[Dimension] = []
        self.enums: dict[int, type[enum.Enum]] = {}
        self._stack: list[type] = []

    def error(self, path: str, message: str) -> None:
        self.errors.append(SpaceDeclarationError(path, message))

    # -- classes ------------------------------------------------------------------
    def compile_root(self, cls: object) -> ClassNode | None:
        if _is_generic_attrs(cls):
            origin: Any = get_origin(cls)
            self.error(
                origin.__qualname__,
                f"{_type_name(cls)} is a parametrised generic alias, not a class; declare "
                f"a subclass that binds the type parameters and pass that: "
                f"{_subclass_example(cls)}",
            )
            return None
        if not isinstance(cls, type) and attrs.has(type(cls)):
            kind = type(cls).__qualname__
            self.error(
                kind,
                f"got an instance of {kind} ({cls!r}), not a class; pass the class "
                f"itself: compile_space({kind})",
            )
            return None
        name = getattr(cls, "__name__", repr(cls))
        if not isinstance(cls, type) and callable(cls):
            self.error(
                name,
                f"{cls!r} is a function, not a space: a space is an attrs class whose "
                "fields are searched. Check the order of the arguments: "
                "minimize(objective, Space, ...), open_study(Space, ...)",
            )
            return None
        if not isinstance(cls, type) or not attrs.has(cls):
            self.error(
                name,
                f"{cls!r} is not an attrs class; decorate it with @attrs.define or "
                "@attrs.frozen (dataclasses and plain classes are not supported)",
            )
            return None
        return self.compile_class(cls, name, "", None, None)

    def compile_class(
        self,
        cls: type,
        path: str,
        prefix: str,
        parent: str | None,
        parent_choice: str | None,
    ) -> ClassNode | None:
        if cls in self._stack:
            self.error(
                path,
                f"class {cls.__qualname__} contains itself; recursive spaces are not "
                "supported, give the nested field a fixed depth",
            )
            return None
        hints = self._type_hints(cls, path)
        if hints is None:
            return None
        bindings = _type_bindings(cls)
        self._stack.append(cls)
        try:
            fields: list[FieldNode] = []
            for attribute in attrs.fields(cls):
                if attribute.name not in hints:
                    continue  # its hint was reported
                owner = _owner_of(cls, attribute.name)
                hint = _substitute(hints[attribute.name], bindings.get(owner, {}))
                alias = attribute.alias or attribute.name
                site = _Site(
                    attribute,
                    f"{path}.{attribute.name}",
                    prefix + alias,
                    parent,
                    parent_choice,
                    owner,
                )
                if not attribute.init:
                    self._check_not_init(site, hint)
                    continue  # not an __init__ argument: derived, never searched
                node = self.compile_field(site, hint)
                if node is not None:
                    fields.append(node)
            return ClassNode(cls=cls, path=path, fields=tuple(fields))
        finally:
            self._stack.pop()

    def _type_hints(self, cls: type, path: str) -> dict[str, Any] | None:
        """The resolved hints of ``cls``'s fields.

        When some cannot be resolved, each is reported with its field path and left
        out, so that the other fields are still compiled and their problems reported.
        """
        try:
            hints: dict[str, Any] = typing.get_type_hints(cls, include_extras=True)
        except Exception as exc:
            failure = exc
        else:
            return {a.name: hints.get(a.name, a.type) for a in attrs.fields(cls)}
        hints = {}
        found = False
        for attribute in attrs.fields(cls):
            if not attribute.init:
                continue
            try:
                hints[attribute.name] = _resolve_field_hint(cls, attribute)
            except Exception as exc:
                found = True
                self.error(
                    f"{path}.{attribute.name}",
                    f"cannot resolve the annotation {attribute.type!r} ({exc}); check its "
                    "spelling, and define the class at module level (or import it there) "
                    "so typing.get_type_hints can find it",
                )
        if found:
            return hints
        self.error(
            path,
            f"cannot resolve the type hints of {cls.__qualname__} ({failure}); define "
            "the class at module level (or import it there) so typing.get_type_hints "
            "can find it",
        )
        return None

    # -- fields -------------------------------------------------------------------
    def _check_not_init(self, site: _Site, hint: Any) -> None:
        """Report a field left out of ``__init__`` (``init=False``) that has a marker."""
        _, metadata = _unwrap_annotated(hint)
        default = site.attribute.default
        # annotated-types bounds may document a derived value: only markers are refused
        declared: list[object] = [m for m in metadata if is_marker(m)]
        if is_marker(default):
            declared.append(default)
        if declared:
            self.error(
                site.path,
                f"has init=False and the marker {_spell(declared[0])}, but a field that "
                "is not an __init__ argument cannot be searched (it would be left out of "
                "the space silently); remove init=False to search it, or remove the "
                "marker if the field is derived from the others",
            )

    def compile_field(self, site: _Site, hint: Any) -> FieldNode | None:
        """Compile one ``__init__`` field: a dimension, a nested class, a union, or
        ``None`` for a constant (or a field whose problems were reported)."""
        default = site.attribute.default
        if is_marker(default):
            annotation = _unwrap_newtype(_unwrap_annotated(hint)[0])
            if annotation in (Any, object) or isinstance(annotation, TypeVar):
                annotation = _marker_type(default)
            self.error(
                site.path,
                f"has the marker {_spell(default)} as its default, which makes it a "
                "constant holding the marker itself (it is not searched); put the marker "
                f"in the annotation instead: `{site.attribute.name}: Annotated["
                f"{_type_name(annotation)}, {_spell(default)}]`, with no default",
            )
            return None
        converter = site.attribute.converter
        node = self._compile_field(site, hint)
        if converter is None or self._is_constant(site, hint):
            return node
        self.error(
            site.path,
            f"is searched and has a converter ({_converter_name(converter)}); the space "
            "draws values within the declared distribution, and a converter could hand the "
            "objective values outside it (which encode and enqueue() then refuse). Remove "
            "the converter, and convert in the objective or in a property of the class",
        )
        return None

    @staticmethod
    def _is_constant(site: _Site, hint: Any) -> bool:
        """Whether the field is a constant: a default, and no marker or bounds."""
        if site.attribute.default is attrs.NOTHING:
            return False
        _, metadata = _unwrap_annotated(hint)
        return not any(
            is_marker(m) or _bound_values(m) or _is_marker_class(m)
            for m in _expand_grouped(metadata)
        )

    def _compile_field(self, site: _Site, hint: Any) -> FieldNode | None:
        path = site.path
        base, metadata = _unwrap_annotated(hint)
        base = _unwrap_newtype(base)
        uncalled = [m for m in metadata if _is_marker_class(m)]
        if uncalled:
            self.error(path, _uncalled_marker_message(uncalled[0]))
            return None
        markers = [m for m in metadata if is_marker(m)]
        bounds = [m for m in _expand_grouped(metadata) if _bound_values(m)]
        has_default = site.attribute.default is not attrs.NOTHING
        multiples = [m for m in _expand_grouped(metadata) if _multiple_of(m) is not None]
        if multiples:
            marker_name = "ah.Int" if base is int else "ah.Float"
            self.error(
                path,
                f"{multiples[0]!r} is not supported; write the grid as a step instead: "
                f"{marker_name}(low, high, step={_multiple_of(multiples[0])!r})",
            )
            return None
        if len(markers) > 1:
            self.error(path, f"has {len(markers)} markers {markers!r}; keep exactly one")
            return None
        if markers and bounds:
            self.error(
                path,
                "has both an asynchyper marker and annotated-types bounds; keep only one",
            )
            return None
        if not markers and not bounds and has_default:
            hidden = _searched_union_member(base)
            if hidden is not None:  # a marker the default would silently leave unsearched
                self.error(
                    path,
                    f"union member {hidden} is a searched dimension, which a union cannot "
                    "make optional (and with a default the field is a constant: the "
                    "marker would never be searched); " + _wrapper_advice(site, hidden),
                )
            return None  # a constant: decode lets attrs fill the default
        ignored = [m for m in _expand_grouped(metadata) if _is_unsupported_constraint(m)]
        if ignored:
            self.error(
                path,
                f"{ignored[0]!r} is not supported: sampling cannot honour it. Narrow the "
                "range with the marker instead, or reject such values in the objective "
                "(raise, or return float('nan'))",
            )
            return None
        if markers:
            return self._marked(site, markers[0], base)
        if bounds:
            return self._bounded(site, bounds, base)
        if base is bool:
            return self._categorical(site, (False, True), "bool")
        if get_origin(base) is Literal:
            return self._categorical(site, _flatten_literal(base), "Literal")
        if isinstance(base, type) and issubclass(base, enum.Enum):
            return self._enum(site, base)
        if _is_union(base):
            return self._union(site, base)
        if isinstance(base, type) and attrs.has(base):
            node = self.compile_class(base, path, site.name + ".", site.parent, site.parent_choice)
            if node is None:
                return None
            return NestedField(attr_name=site.attribute.name, alias=site.alias, node=node)
        if _is_generic_attrs(base):
            self.error(path, _generic_message(base))
            return None
        if isinstance(base, TypeVar):
            self.error(path, _type_variable_message(base, site.owner))
            return None
        self.error(path, _missing_marker_message(base))
        return None

    def _add(self, site: _Site, kind: DimensionKind, **fields: Any) -> int:
        column = len(self.dimensions)
        self.dimensions.append(
            Dimension(
                name=site.name,
                path=site.path,
                kind=kind,
                parent=site.parent,
                parent_choice=site.parent_choice,
                **fields,
            )
        )
        return column

    def _marked(
        self, site: _Site, marker: Float | Int | Categorical, base: Any
    ) -> FieldNode | None:
        path = site.path
        if isinstance(marker, Categorical):
            text = marker._text  # kept by the marker for this message
            if text is not None:
                self.error(
                    path,
                    f"ah.Categorical({text!r}) was given one string, not a list of choices "
                    "(a string is an iterable of its characters, which would become the "
                    f"choices); pass a list: ah.Categorical([{text!r}, ...])",
                )
                return None
            if not self._choices_fit(site, marker.choices, base):
                return None
            weights = self._weights(site, marker)
            if weights is None:
                return None
            enum_type = base if isinstance(base, type) and issubclass(base, enum.Enum) else None
            return self._categorical(site, marker.choices, "Categorical", enum_type, weights)
        if isinstance(marker, Float):
            if base is not float:
                fix = (
                    "use ah.Int(low, high) for an int field"
                    if base is int
                    else _optional_range_fix(site, marker, base) or "annotate the field as float"
                )
                self.error(path, f"ah.Float marker on a field of type {_type_name(base)}; {fix}")
                return None
            if not self._check_float(marker, path):
                return None
            prior = self._prior(marker, path)
            if prior is None:
                return None
            column = self._add(
                site,
                DimensionKind.FLOAT,
                low=float(marker.low),
                high=float(marker.high),
                log=bool(marker.log),
                step=float(marker.step) if marker.step is not None else None,
                mu=prior[0],
                sigma=prior[1],
            )
            return LeafField(site.attribute.name, site.alias, column, "float")
        if base is not int:
            fix = (
                "use ah.Float(low, high, step=1.0) for a float field"
                if base is float
                else _optional_range_fix(site, marker, base) or "annotate the field as int"
            )
            self.error(path, f"ah.Int marker on a field of type {_type_name(base)}; {fix}")
            return None
        if not self._check_int(marker, path):
            return None
        column = self._add(
            site,
            DimensionKind.INT,
            low=int(marker.low),
            high=int(marker.high),
            log=bool(marker.log),
            step=int(marker.step),
        )
        return LeafField(site.attribute.name, site.alias, column, "int")

    def _bounded(self, site: _Site, bounds: list[Any], base: Any) -> FieldNode | None:
        path = site.path
        found: dict[str, Any] = {}
        for item in bounds:
            found.update(_bound_values(item))
        written = ", ".join(f"{name}={value!r}" for name, value in found.items())
        is_int = base is int
        if base not in (int, float):
            self.error(
                path,
                f"annotated-types bounds on a field of type {_type_name(base)}; they "
                "describe a range, so annotate the field as float or int",
            )
            return None
        bad = [f"{n}={v!r}" for n, v in found.items() if not (_is_number(v) and _is_finite(v))]
        if bad:
            self.error(
                path,
                f"annotated-types bound {', '.join(bad)} is not a finite number; give "
                "numbers, e.g. Interval(ge=0, le=1)",
            )
            return None
        # The range of values the bounds allow: for an int field, the ints inside them.
        low: float | None = None
        high: float | None = None
        if "ge" in found:
            low = math.ceil(found["ge"]) if is_int else _to_float(found["ge"])
        elif "gt" in found:
            gt = found["gt"]
            low = math.floor(gt) + 1 if is_int else math.nextafter(_to_float(gt), math.inf)
        if "le" in found:
            high = math.floor(found["le"]) if is_int else _to_float(found["le"])
        elif "lt" in found:
            lt = found["lt"]
            high = math.ceil(lt) - 1 if is_int else math.nextafter(_to_float(lt), -math.inf)
        if low is None or high is None:
            self.error(
                path,
                f"annotated-types bounds {found!r} give no finite range; use "
                "Interval(ge=low, le=high) (both bounds) or an ah.Float/ah.Int marker",
            )
            return None
        if low >= high:
            kind = "int" if is_int else "float"
            left = f"no {kind} values" if low > high else f"a single {kind} value"
            self.error(
                path,
                f"annotated-types bounds {written} leave {left}; widen the range (for a "
                "fixed value, give the field a default and no bounds)",
            )
            return None
        marker: Float | Int = Int(int(low), int(high)) if is_int else Float(low, high)
        return self._marked(site, marker, base)

    def _check_log(self, marker: Float | Int, path: str) -> bool:
        log: object = marker.log
        if isinstance(log, bool | np.bool_):
            return True
        kind = type(marker).__name__
        self.error(path, f"{kind} log must be True or False, got {type(log).__name__} {log!r}")
        return False

    def _check_float(self, marker: Float, path: str) -> bool:
        if not self._check_log(marker, path):
            return False
        ok = True
        low, high, step = marker.low, marker.high, marker.step
        if not (_is_number(low) and _is_number(high)):
            self.error(path, f"Float bounds must be numbers, got low={low!r}, high={high!r}")
            return False
        if not (_is_finite(low) and _is_finite(high)):
            self.error(path, f"Float bounds must be finite, got low={low!r}, high={high!r}")
            return False
        width = _to_float(high) - _to_float(low)
        if low < high and not math.isfinite(width):
            self.error(
                path,
                f"high - low overflows to inf (low={low!r}, high={high!r}), so no value "
                "could be drawn inside the range; narrow the range, or use log=True with "
                "a positive low for values spanning many orders of magnitude",
            )
            return False
        if low >= high:
            self.error(
                path,
                f"low={low!r} >= high={high!r}; make low < high (for a fixed value, "
                "give the field a default and no marker)",
            )
            ok = False
        if marker.log and low <= 0:
            positive = f"{_format(high / 1e3) if high > 0 else '1e-3'}"
            given: object = step
            if isinstance(given, int | float) and math.isfinite(given) and given > 0:
                # the first grid value above 0, so that the step still divides the range
                positive = _format(low + (math.floor(-low / given + 1e-9) + 1) * given)
            self.error(
                path,
                f"log=True needs low > 0, got low={low!r}; use a positive low such as "
                f"{positive} or drop log=True",
            )
            ok = False
        if step is not None:
            if not _is_number(step) or not math.isfinite(_to_float(step)) or step <= 0:
                self.error(path, f"step must be a positive finite number, got step={step!r}")
                ok = False
            elif ok:
                ok = self._check_divides(low, high, step, path)
        return ok

    def _prior(self, marker: Float, path: str) -> tuple[float | None, float | None] | None:
        """``(mu, sigma)`` of a valid Float's Gaussian prior (``(None, None)``: uniform),
        or ``None`` after an error."""
        mu, sigma = marker.mu, marker.sigma
        if mu is None and sigma is None:
            return (None, None)
        given = f"ah.Float mu={reprlib.repr(mu)}, sigma={reprlib.repr(sigma)}"
        if mu is None or sigma is None:
            problem = "a Gaussian prior needs both; give both, or neither for a uniform prior"
            self.error(path, f"{given}: {problem}")
            return None
        if not (_is_number(mu) and math.isfinite(_to_float(mu))):
            self.error(path, f"{given}: mu must be a finite number")
            return None
        if not (_is_number(sigma) and math.isfinite(_to_float(sigma)) and sigma > 0):
            self.error(path, f"{given}: sigma must be a positive finite number")
            return None
        centre, width = float(mu), float(sigma)
        low, high = float(marker.low), float(marker.high)
        scale = ""
        if marker.log:
            low, high = math.log(low), math.log(high)
            scale = f" (log space: [{_format(low)}, {_format(high)}])"
        found = self._prior_problem(centre, width, low, high, marker, scale)
        if found is not None:
            self.error(path, f"{given}: {found}")
            return None
        return (centre, width)

    @staticmethod
    def _prior_problem(  # noqa: PLR0917 - private helper, called from one place
        mu: float, sigma: float, low: float, high: float, marker: Float, scale: str
    ) -> str | None:
        """Why ``N(mu, sigma)`` cannot be a prior on ``[low, high]`` (logarithms with
        log), or ``None``; ``scale`` describes the log-space range, if any."""
        normal = f"N({_format(mu)}, {_format(sigma)})"
        span = high - low
        # mu = log(low) + log(high / low) can land a rounding error past log(high).
        slack = 1e-9 * max(1.0, abs(low), abs(high))
        inside = low - slack <= mu <= high + slack
        if marker.log and float(marker.low) <= mu <= float(marker.high) and not inside:
            # Almost surely mu in x's units: taken as given, the draws would crowd an end.
            return (
                f"mu lies in [{marker.low!r}, {marker.high!r}] but outside the range of "
                f"log(x){scale}; with log=True, mu and sigma describe log(x): did you mean "
                f"mu=math.log({_format(mu)})?"
            )
        if sigma < _NARROWEST_PRIOR * span:
            ends = (mu - 6 * sigma, mu + 6 * sigma)
            if marker.log:
                ends = (math.exp(ends[0]), math.exp(ends[1]))
            return (
                f"sigma is {sigma / span:.3g} of the range{scale}: TPE cannot resolve a "
                f"prior that narrow inside it (at least {_NARROWEST_PRIOR:g} of the range); "
                "narrow the range to a few standard deviations each side, e.g. "
                f"[{_format(ends[0])}, {_format(ends[1])}], or widen sigma"
            )
        mass = NormalPrior(mu, sigma, low, high).mass
        if low <= mu <= high:
            if mass >= _LEAST_FLAT_MASS:
                return None
            return (
                f"sigma is {sigma / span:.3g} times the range{scale}, so {normal} is flat "
                "there; drop mu and sigma for a uniform prior, or give a smaller sigma"
            )
        if mass >= _LEAST_PRIOR_MASS:
            return None
        return (
            f"{normal} puts only {mass:.3g} of its mass in [{marker.low!r}, "
            f"{marker.high!r}]{scale}, so every draw would crowd its nearer end; move mu "
            "into the range, or widen sigma or the range"
        )

    def _check_int(self, marker: Int, path: str) -> bool:
        if not self._check_log(marker, path):
            return False
        ok = True
        low, high, step = marker.low, marker.high, marker.step
        given: tuple[object, ...] = (low, high, step)
        if not all(_is_integer(v) for v in given):
            self.error(
                path,
                f"Int low, high and step must be ints, got low={low!r}, high={high!r}, "
                f"step={step!r}; use ah.Float for fractional bounds",
            )
            return False
        low, high, step = int(low), int(high), int(step)
        huge = [f"{n}={v}" for n, v in (("low", low), ("high", high)) if abs(v) > _MAX_EXACT_INT]
        if huge:
            self.error(
                path,
                f"Int bounds must lie within -2**53..2**53, got {', '.join(huge)}: values "
                "are modelled as float64, which cannot hold every int beyond 2**53; "
                "narrow the range (a random seed fits in ah.Int(0, 2**31 - 1))",
            )
            return False
        if low >= high:
            self.error(
                path,
                f"low={low!r} >= high={high!r}; make low < high (for a fixed value, "
                "give the field a default and no marker)",
            )
            ok = False
        if marker.log and low < 1:
            # the first grid value >= 1, so that the step still divides the range
            first = low + -(-(1 - low) // step) * step if step >= 1 else 1
            self.error(
                path, f"log=True needs low >= 1, got low={low!r}; use low={first} or drop log"
            )
            ok = False
        if step < 1:
            self.error(path, f"step must be a positive int, got step={step!r}")
            return False
        if ok:
            ok = self._check_divides(low, high, step, path)
        return ok

    def _check_divides(self, low: float, high: float, step: float, path: str) -> bool:
        count = (high - low) / step
        if isinstance(step, int) and isinstance(low, int) and isinstance(high, int):
            exact = (high - low) % step == 0  # ints: exactly, whatever the range
        else:
            # in steps, plus the float error of the division itself (not 1e-9 * count,
            # which lets any step through once the grid has ~1e9 points)
            exact = abs(count - round(count)) <= 1e-6 + 1e-15 * count
        magnitude = max(abs(float(low)), abs(float(high)))
        ulp = math.ulp(magnitude)
        if exact and not isinstance(step, int) and 8 * ulp > step:
            # Grid values would be off the grid by more than validation allows.
            finest = 10.0 ** math.ceil(math.log10(8 * ulp))
            self.error(
                path,
                f"step={step!r} is too fine for values near {_format(magnitude)}, where a "
                f"float is exact only to {ulp:.2g}; use a step of at least {finest:g}, or "
                "no step",
            )
            return False
        if exact:
            return True
        below = low + math.floor(count) * step
        above = low + math.ceil(count) * step
        if isinstance(step, int) and isinstance(low, int) and isinstance(high, int):
            below = low + (high - low) // step * step  # exact: no float count
            above = below + step
        if math.floor(count) < 1:  # "high=low" would be no fix at all
            width = _format(high - low)
            self.error(
                path,
                f"step={step!r} is larger than the range high - low = {width}; use "
                f"high={_format(above)} or step={width}, or a smaller step that divides "
                "the range",
            )
            return False
        # hp.quniform(low, high, q) draws multiples of q: offer that grid too
        multiple = math.ceil(low / step) * step
        if isinstance(step, int) and isinstance(low, int):
            multiple = int(multiple)
        rest = (high - multiple) / step
        anchored = (
            f", or low={_format(multiple)} for the multiples of {step!r} (as Hyperopt's quniform)"
            if multiple != low and rest >= 1 and abs(rest - round(rest)) <= 1e-6
            else ""
        )
        self.error(
            path,
            f"step={step!r} does not divide high - low = {_format(high - low)}; use "
            f"high={_format(below)} or high={_format(above)}{anchored}, or a step that "
            "divides the range",
        )
        return False

    def _weights(self, site: _Site, marker: Categorical) -> tuple[float, ...] | None:
        """``marker``'s weights normalised (``()``: none given), or ``None`` after an error."""
        if marker.weights is None:
            return ()
        given = marker.weights
        problem = ""
        if len(given) == 1 and isinstance(given[0], Mapping | Set):
            problem = "a set or a mapping has no order"
        elif len(given) != len(marker.choices):
            problem = f"{len(given)} weight(s) for {len(marker.choices)} choice(s)"
        else:
            bad = [w for w in given if not _is_weight(w)]
            if bad:
                problem = f"weight(s) {bad!r} are not positive finite numbers"
        if problem:
            self.error(
                site.path,
                f"ah.Categorical weights={list(given)!r}: {problem}; give one positive "
                "number per choice, in the order of the choices (they are normalised; "
                "leave a choice out instead of weighing it 0)",
            )
            return None
        values = [float(w) for w in given]
        total = math.fsum(values)
        if not math.isfinite(total):  # near the float limit: scaled first
            top = max(values)
            values = [w / top for w in values]
            total = math.fsum(values)
        normalised = tuple(w / total for w in values)
        if min(normalised) == 0.0:
            self.error(
                site.path,
                f"ah.Categorical weights={list(given)!r}: the smallest is 0 next to the "
                "others once they sum to one; give weights within about 1e300 of each "
                "other, or leave that choice out",
            )
            return None
        return normalised

    def _categorical(
        self,
        site: _Site,
        choices: tuple[Any, ...],
        what: str,
        enum_type: type[enum.Enum] | None = None,
        weights: tuple[float, ...] = (),
    ) -> LeafField | None:
        """A categorical leaf; enum members among ``choices`` are stored by name."""
        path = site.path
        if not choices:
            self.error(path, f"{what} has no choices; give at least one")
            return None
        bad = [c for c in choices if not (isinstance(c, enum.Enum) or _is_json_scalar(c))]
        if bad:
            self.error(
                path,
                f"{what} value(s) {bad!r} are not JSON scalars; use str, int, bool, None "
                "or a finite float (use an Enum for other objects)",
            )
            return None
        stored = tuple(c.name if isinstance(c, enum.Enum) else c for c in choices)
        seen: dict[tuple[str, object], Any] = {}
        for choice, value in zip(choices, stored, strict=True):
            key = _duplicate_key(value)
            if key not in seen:
                seen[key] = choice
                continue
            first = seen[key]
            if _is_number(first) and repr(first) != repr(choice):
                message = (
                    f"{what} choices {first!r} and {choice!r} are equal numbers: one value "
                    "to the objective, drawn as two choices; remove one"
                )
            elif first is choice or not (
                isinstance(first, enum.Enum) or isinstance(choice, enum.Enum)
            ):
                message = f"{what} choice {_show(choice)} appears twice; remove the duplicate"
            else:
                message = (
                    f"{what} choices {_show(first)} and {_show(choice)} are both stored as "
                    f"{value!r} (enum members are stored by name); remove one of them"
                )
            self.error(path, message)
            return None
        column = self._add(site, DimensionKind.CATEGORICAL, choices=stored, weights=weights)
        if not any(isinstance(c, enum.Enum) for c in choices):
            return LeafField(site.attribute.name, site.alias, column, "value")
        return LeafField(site.attribute.name, site.alias, column, "member", enum_type, choices)

    def _enum(self, site: _Site, base: type[enum.Enum]) -> FieldNode | None:
        node = self._categorical(site, tuple(base), "Enum", base)
        if node is not None:
            self.enums[node.column] = base
        return node

    def _choices_fit(self, site: _Site, choices: tuple[Choice, ...], base: Any) -> bool:
        """Report ``ah.Categorical`` choices that are not of the field's type."""
        if _attrs_members(base):
            if _is_union(base):
                message = (
                    "a union of attrs classes is already a branch choice and takes no "
                    "marker; remove the ah.Categorical marker (a union field without a "
                    "default is searched; one with a default is a constant, so remove the "
                    "default to search it)"
                )
            else:
                message = (
                    f"nested attrs class {_type_name(base)} takes no marker; remove the "
                    "ah.Categorical marker (its fields are searched), or give the field a "
                    "default and no marker to make it a constant"
                )
            self.error(site.path, message)
            return False
        bad = [c for c in choices if not _fits(base, c)]
        if not bad:
            return True
        shown = "[" + ", ".join(_show(c) for c in bad) + "]"
        name = _type_name(base)
        if isinstance(base, type) and issubclass(base, enum.Enum):
            first = next(iter(base), None)
            example = f"{name}.{first.name}" if first is not None else "..."
            message = (
                f"ah.Categorical choices {shown} are not members of {name}; use the members "
                f"themselves, e.g. ah.Categorical([{example}, ...]) or "
                f"ah.Categorical(list({name}))"
            )
        elif get_origin(base) is Literal:
            message = (
                f"ah.Categorical choices {shown} are not values of {name}; keep only its "
                "values, or drop the marker to search all of them"
            )
        else:
            message = (
                f"ah.Categorical choices {shown} are not of the field's type {name}; give "
                f"choices of type {name}, or annotate the field with the choices' type"
            )
            if base in (int, float) and any(isinstance(c, bool) for c in bad):
                number = "an int" if base is int else "a number"
                message += f" (bool is not {number} here)"
        self.error(site.path, message)
        return False

    def _union(self, site: _Site, base: Any) -> FieldNode | None:
        path, name = site.path, site.name
        members: list[tuple[str, type | None]] = []
        ok = True
        values = _union_of_values(base)
        if values is not None:
            self.error(
                path,
                "a union of values is not a search dimension (a union chooses between "
                f"attrs classes or None); use Literal[{', '.join(_show(v) for v in values)}]",
            )
            return None
        classes_named = [_type_name(m) for m in _attrs_members(base)]
        for raw in get_args(base):
            member, metadata = _unwrap_annotated(raw)
            member = _unwrap_newtype(member)
            searched = [m for m in _expand_grouped(metadata) if is_marker(m) or _bound_values(m)]
            if member is type(None):
                members.append((_NONE_TAG, None))
            elif isinstance(member, type) and attrs.has(member):
                members.append((member.__name__, member))
            elif _is_generic_attrs(member):
                self.error(path, f"union member {_generic_message(member)}")
                ok = False
            elif searched:
                self.error(
                    path,
                    f"union member {_spell_annotated(member, metadata)} is a searched "
                    "dimension, which a union cannot make optional (a union chooses "
                    "between attrs classes or None); "
                    + _wrapper_advice(site, _spell_annotated(member, metadata)),
                )
                ok = False
            elif classes_named:
                optional = " | ".join([*classes_named, "None"])
                self.error(
                    path,
                    f"union member {_type_name(member)} is not an attrs class; a union "
                    "chooses between attrs classes or None. To make the field optional, "
                    f"write `{optional}` (no configuration is then stored as the branch "
                    "'None')",
                )
                ok = False
            else:
                self.error(
                    path,
                    f"union member {_type_name(member)} is not an attrs class; a union "
                    "chooses between attrs classes (or None). For a choice between values "
                    "use Literal[...] or ah.Categorical([...])",
                )
                ok = False
        tags = [tag for tag, _ in members]
        for tag in sorted(set(tags)):
            if tags.count(tag) > 1:
                self.error(
                    path,
                    f"union has {tags.count(tag)} members named {tag!r}; branch tags are "
                    "class names, so rename one of the classes",
                )
                ok = False
        if not ok:
            return None
        column = self._add(site, DimensionKind.CATEGORICAL, choices=tuple(tags), is_branch=True)
        branches: dict[str, ClassNode | None] = {}
        classes: dict[type, str] = {}
        for tag, member in members:
            if member is None:
                branches[tag] = None
                continue
            node = self.compile_class(member, f"{path}[{tag}]", f"{name}:{tag}.", name, tag)
            branches[tag] = node
            classes[member] = tag
        return UnionField(
            attr_name=site.attribute.name,
            alias=site.alias,
            column=column,
            branches=branches,
            tags=classes,
        )


def _resolve_field_hint(cls: type, attribute: attrs.Attribute[Any]) -> Any:
    """Resolve one field's annotation alone, as ``typing.get_type_hints`` would.

    Raises:
        Exception: Whatever resolving the annotation raises (e.g. ``NameError``).
    """
    owner = next(
        (base for base in cls.__mro__ if attribute.name in vars(base).get("__annotations__", {})),
        cls,
    )
    annotation = vars(owner).get("__annotations__", {}).get(attribute.name, attribute.type)
    # A class holding only this annotation, in the owner's module: get_type_hints then
    # resolves it (forward references inside it included) in the owner's namespaces.
    probe = type(owner.__name__, (), {"__annotations__": {attribute.name: annotation}})
    probe.__module__ = owner.__module__
    localns = {**vars(owner), owner.__name__: owner}
    return typing.get_type_hints(probe, localns=localns, include_extras=True)[attribute.name]


def _multiple_of(item: Any) -> Any:
    """The ``multiple_of`` of an annotated-types ``MultipleOf`` (duck-typed), else None."""
    if is_marker(item) or isinstance(item, type | str):
        return None
    return getattr(item, "multiple_of", None)


# annotated-types constraints that a search cannot honour (bounds, handled above, and
# MultipleOf, refused with its own fix, aside); its informational ``Unit`` is allowed.
_UNSUPPORTED_CONSTRAINTS = frozenset({"Predicate", "Not", "MinLen", "MaxLen", "Timezone"})


def _is_unsupported_constraint(item: Any) -> bool:
    """Whether ``item`` is an annotated-types constraint asynchyper ignores (duck-typed)."""
    kind = type(item)
    return kind.__module__ == "annotated_types" and kind.__name__ in _UNSUPPORTED_CONSTRAINTS


def _is_generic_attrs(hint: Any) -> bool:
    """Whether ``hint`` is a parametrised generic attrs class such as ``Box[int]``."""
    origin = get_origin(hint)
    return isinstance(origin, type) and attrs.has(origin)


def _generic_message(hint: Any) -> str:
    return (
        f"generic attrs class {_type_name(hint)} is not supported; declare a non-generic "
        f"subclass and annotate the field with it ({_subclass_example(hint)}), or drop "
        "the type parameters if no field uses them"
    )


def _subclass_example(hint: Any) -> str:
    """``@attrs.define class IntBox(Box[int]): ...`` for the generic alias ``Box[int]``."""
    origin = get_origin(hint)
    prefix = ""
    for arg in get_args(hint):
        base = _unwrap_newtype(_unwrap_annotated(arg)[0])
        name = getattr(base, "__name__", "") if isinstance(base, type) else ""
        prefix += name[:1].upper() + name[1:]
    return f"@attrs.define class {prefix or 'My'}{origin.__name__}({_type_name(hint)}): ..."


def _type_bindings(cls: type) -> dict[type, dict[Any, Any]]:
    """The type each generic base of ``cls`` has for its type variables.

    ``class FloatBox(Box[float])`` binds ``Box``'s ``T`` to ``float``: the fields
    ``FloatBox`` inherits from ``Box`` are read with ``float`` for ``T``. Bindings go
    through every level (``class C(B[int])`` with ``class B(A[list[U]], Generic[U])``
    gives ``A`` ``list[int]``), and are kept per class, since two bases may bind one
    ``TypeVar`` object differently.
    """
    bindings: dict[type, dict[Any, Any]] = {cls: {}}
    for klass in cls.__mro__:  # each class comes before its bases
        own = bindings.get(klass, {})
        for base in vars(klass).get("__orig_bases__", ()):
            origin = get_origin(base)
            parameters = getattr(origin, "__parameters__", ())
            if not isinstance(origin, type) or origin in bindings or not parameters:
                continue  # Generic[T] itself, or a base already bound by a subclass
            arguments = get_args(base)
            if len(arguments) == len(parameters):
                bindings[origin] = {
                    p: _substitute(a, own) for p, a in zip(parameters, arguments, strict=True)
                }
    return bindings


def _owner_of(cls: type, name: str) -> type:
    """The class in ``cls``'s MRO that annotates the field ``name`` (``cls`` if none)."""
    for klass in cls.__mro__:
        if name in vars(klass).get("__annotations__", {}):
            return klass
    return cls


def _substitute(hint: Any, binding: dict[Any, Any]) -> Any:
    """``hint`` with the type variables of ``binding`` replaced by their types."""
    if not binding:
        return hint
    if isinstance(hint, TypeVar):
        return binding.get(hint, hint)
    parameters = getattr(hint, "__parameters__", ())
    if isinstance(hint, type) or not parameters:
        return hint  # a class (a bare generic class stays unbound) or no type variable
    try:
        return hint[tuple(binding.get(p, p) for p in parameters)]
    except TypeError:  # a form that cannot be subscripted again
        return hint


def _type_variable_message(variable: Any, owner: type | None) -> str:
    name = getattr(variable, "__name__", repr(variable))
    where = f" of the generic class {owner.__qualname__}" if owner is not None else ""
    example = owner.__name__ if owner is not None else "Box"
    return (
        f"its type is the type variable {name}{where}, which nothing binds here, so it "
        f"has no distribution; compile (or annotate the field with) a subclass that binds "
        f"it, e.g. @attrs.define class Float{example}({example}["
        "Annotated[float, ah.Float(low, high)]]): ..."
    )


def _unwrap_newtype(hint: Any) -> Any:
    """The type a ``typing.NewType`` stands for (through NewTypes of NewTypes)."""
    while isinstance(hint, typing.NewType):
        hint = hint.__supertype__
    return hint


_MARKER_CLASSES = (Float, Int, Categorical)


def _is_marker_class(item: object) -> bool:
    """Whether ``item`` is a marker class itself, not called (``ah.Float``)."""
    return any(item is kind for kind in _MARKER_CLASSES)


def _uncalled_marker_message(kind: type) -> str:
    call = {
        Float: "ah.Float(low, high)",
        Int: "ah.Int(low, high)",
        Categorical: "ah.Categorical([a, b])",
    }[kind]
    return f"the marker class ah.{kind.__name__} is not called; call it: {call}"


def _marker_type(marker: Float | Int | Categorical) -> Any:
    """The annotation a marker usually goes with, for messages."""
    if isinstance(marker, Float):
        return float
    if isinstance(marker, Int):
        return int
    kinds = {type(c) for c in marker.choices}
    return kinds.pop() if len(kinds) == 1 else object


def _spell(item: object) -> str:
    """A marker as it is written in source (``ah.Float(0, 1, log=True)``), else its repr."""
    if isinstance(item, Float):
        extra = ", log=True" if item.log else ""
        extra += f", step={item.step!r}" if item.step is not None else ""
        extra += f", mu={item.mu!r}" if item.mu is not None else ""
        extra += f", sigma={item.sigma!r}" if item.sigma is not None else ""
        return f"ah.Float({item.low!r}, {item.high!r}{extra})"
    if isinstance(item, Int):
        extra = ", log=True" if item.log else ""
        extra += f", step={item.step!r}" if item.step != 1 else ""
        return f"ah.Int({item.low!r}, {item.high!r}{extra})"
    if isinstance(item, Categorical):
        return f"ah.{item!r}"
    return repr(item)


def _spell_annotated(base: Any, metadata: tuple[Any, ...]) -> str:
    """``Annotated[float, ah.Float(0, 0.5)]`` as written in source."""
    return f"Annotated[{_type_name(base)}, {', '.join(_spell(m) for m in metadata)}]"


def _converter_name(converter: Any) -> str:
    function = getattr(converter, "converter", converter)  # an attrs.Converter
    return getattr(function, "__qualname__", None) or repr(function)


def _searched_union_member(base: Any) -> str | None:
    """A union member carrying a marker or bounds (``Annotated[float, ah.Float(0, 1)] |
    None``), spelled out; ``None`` if there is none (or ``base`` is not a union)."""
    if not _is_union(base):
        return None
    for raw in get_args(base):
        member, metadata = _unwrap_annotated(raw)
        if any(is_marker(m) or _bound_values(m) for m in _expand_grouped(metadata)):
            return _spell_annotated(_unwrap_newtype(member), metadata)
    return None


def _wrapper_advice(site: _Site, annotation: str) -> str:
    """How to make a searched range optional: wrap it in a small attrs class."""
    wrapper = "".join(part.title() for part in site.attribute.name.split("_")) or "Wrapper"
    return (
        f"wrap it in a small attrs class and make that optional: `@attrs.frozen class "
        f"{wrapper}: value: {annotation}`, then `{site.attribute.name}: {wrapper} | None`"
    )


def _optional_range_fix(site: _Site, marker: Float | Int, base: Any) -> str | None:
    """For a marker on ``float | None`` or ``int | None``: the wrapper-class fix."""
    if not _is_union(base) or type(None) not in get_args(base):
        return None
    kind = "float" if isinstance(marker, Float) else "int"
    return "a searched range cannot be None; " + _wrapper_advice(
        site, f"Annotated[{kind}, {_spell(marker)}]"
    )


def _attrs_members(hint: Any) -> list[type]:
    """The attrs classes ``hint`` is, or holds as union members."""
    members = get_args(hint) if _is_union(hint) else (hint,)
    found = []
    for raw in members:
        member, _ = _unwrap_annotated(raw)
        if isinstance(member, type) and attrs.has(member):
            found.append(member)
        elif _is_generic_attrs(member):
            found.append(get_origin(member))
    return found


def _union_of_values(hint: Any) -> tuple[Any, ...] | None:
    """The values of a union whose members all are values: ``Literal``, ``bool``,
    ``Enum`` or ``None``; ``None`` for any other union."""
    values: list[Any] = []
    has_none = False
    for raw in get_args(hint):
        member, _ = _unwrap_annotated(raw)
        if member is type(None):
            has_none = True
        elif get_origin(member) is Literal:
            values.extend(_flatten_literal(member))
        elif member is bool:
            values.extend((False, True))
        elif isinstance(member, type) and issubclass(member, enum.Enum):
            values.extend(member)
        else:
            return None
    if not values:
        return None
    return (*values, None) if has_none and None not in values else tuple(values)


def _duplicate_key(stored: object) -> tuple[str, object]:
    """What makes two stored choices the same value.

    Equal numbers are one value whatever their type (``1``, ``1.0``; ``0.0``, ``-0.0``):
    the objective cannot tell them apart, and JSON may not either. ``True`` is no
    number here, and an enum member's stored name equals the string it spells.
    """
    if _is_number(stored):
        return ("number", stored)  # 1 == 1.0 and -0.0 == 0.0, with equal hashes
    return ("json", json.dumps(stored))


def _same_choice(a: object, b: object) -> bool:
    """Equality of choices that keeps ``True``, ``1`` and ``1.0`` (and members) apart."""
    if isinstance(a, enum.Enum) or isinstance(b, enum.Enum):
        return a is b
    return choice_key(a) == choice_key(b)


def _fits(hint: Any, value: object) -> bool:
    """Whether a categorical choice is a value of the annotated type ``hint``."""
    if hint is Any or hint is object:
        return True
    if get_origin(hint) is Literal:
        return any(_same_choice(value, v) for v in _flatten_literal(hint))
    if _is_union(hint):
        return any(_fits(_unwrap_annotated(member)[0], value) for member in get_args(hint))
    if hint is None or hint is type(None):
        return value is None
    supertype = getattr(hint, "__supertype__", None)  # a typing.NewType
    if supertype is not None:
        return _fits(supertype, value)
    if isinstance(value, bool) and hint in (int, float):
        return False  # bool subclasses int, but True is no batch size
    if hint is float:
        return isinstance(value, int | float)
    origin = get_origin(hint)
    cls = origin if isinstance(origin, type) else hint
    if isinstance(cls, type):
        return isinstance(value, cls)
    return True  # a TypeVar or another form that cannot be checked


def _show(value: object) -> str:
    """A choice as it is written in source: ``Act.RELU`` for a member, else its repr."""
    if isinstance(value, enum.Enum):
        return f"{type(value).__qualname__}.{value.name}"
    return repr(value)


def _unwrap_annotated(hint: Any) -> tuple[Any, tuple[Any, ...]]:
    if get_origin(hint) is Annotated:
        args = get_args(hint)
        return args[0], tuple(args[1:])
    return hint, ()


def _expand_grouped(metadata: tuple[Any, ...]) -> list[Any]:
    """Expand annotated-types ``GroupedMetadata`` (duck-typed, no import)."""
    items: list[Any] = []
    for item in metadata:
        if getattr(item, "__is_annotated_types_grouped_metadata__", False) and not any(
            hasattr(item, b) for b in _BOUND_NAMES
        ):
            items.extend(item)
        else:
            items.append(item)
    return items


def _bound_values(item: Any) -> dict[str, Any]:
    """The ``gt``/``ge``/``lt``/``le`` bounds an annotated-types-like object carries."""
    if is_marker(item) or isinstance(item, type | str):
        return {}
    found = {}
    for bound in _BOUND_NAMES:
        value = getattr(item, bound, None)
        if value is not None:
            found[bound] = value
    return found


def _is_union(hint: Any) -> bool:
    return get_origin(hint) in (typing.Union, types.UnionType)


def _flatten_literal(hint: Any) -> tuple[Any, ...]:
    values: list[Any] = []
    for arg in get_args(hint):
        if get_origin(arg) is Literal:
            values.extend(_flatten_literal(arg))
        else:
            values.append(arg)
    return tuple(values)


def _type_name(tp: Any) -> str:
    if get_origin(tp) is Annotated:
        return _spell_annotated(*_unwrap_annotated(tp))
    if _is_generic_attrs(tp):
        return f"{get_origin(tp).__qualname__}[{', '.join(map(_type_name, get_args(tp)))}]"
    if isinstance(tp, type):
        return tp.__qualname__
    return repr(tp).replace("typing.", "")


def _missing_marker_message(base: Any) -> str:
    if is_marker(base):  # `lr: ah.Float(0, 1)`: the marker as the annotation itself
        spelled = f"Annotated[{_type_name(_marker_type(base))}, {_spell(base)}]"
        return f"{_spell(base)} is a marker, not a type; put it inside Annotated: {spelled}"
    if base is float:
        return (
            "float field has no distribution; annotate it as "
            "Annotated[float, ah.Float(low, high)] or give it a default to make it a constant"
        )
    if base is int:
        return (
            "int field has no distribution; annotate it as "
            "Annotated[int, ah.Int(low, high)] or give it a default to make it a constant"
        )
    if base is str:
        return (
            "str field has no distribution; use Literal['a', 'b'] or "
            "Annotated[str, ah.Categorical(['a', 'b'])], or give it a default"
        )
    if isinstance(base, type) and not attrs.has(base) and base.__module__ != "builtins":
        return (
            f"{_type_name(base)} is not an attrs class; decorate it with @attrs.define "
            "(or @attrs.frozen) to nest it, or give the field a default to make it a constant"
        )
    return (
        f"type {_type_name(base)} has no distribution; use Annotated[..., ah.Float/ah.Int/"
        "ah.Categorical(...)], bool, Literal, an Enum or an attrs class, or give it a default"
    )
