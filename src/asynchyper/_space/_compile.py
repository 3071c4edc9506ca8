"""The compiler: attrs class -> flat dimensions + a tree that maps them back.

It walks the class once, collecting *every* declaration problem as a
:class:`SpaceDeclarationError` and raising them together as one ``ExceptionGroup``.
"""

from __future__ import annotations

import enum
import json
import math
import numbers
import sys
import threading
import types
import typing
import weakref
from typing import Annotated, Any, Literal, TypeVar, get_args, get_origin

import attrs

from .._errors import SpaceDeclarationError
from ._dimension import Dimension, DimensionKind
from ._markers import Categorical, Float, Int, is_marker
from ._tree import ClassNode, FieldNode, LeafField, NestedField, UnionField

if typing.TYPE_CHECKING:
    from ._space import Space

__all__ = ["compile_space"]

T = TypeVar("T")

_NONE_TAG = "None"
_BOUND_NAMES = ("gt", "ge", "lt", "le")

# Keyed weakly, but a Space refers to its class, so entries live as long as the
# process; space classes are module-level and few, so that costs nothing.
_cache: weakref.WeakKeyDictionary[type, Space[Any]] = weakref.WeakKeyDictionary()
_cache_lock = threading.Lock()


def compile_space(cls: type[T]) -> Space[T]:
    """Compile an attrs class into a :class:`Space` (cached per class).

    Args:
        cls: An attrs class whose fields are annotated with distributions.

    Returns:
        The compiled space.

    Raises:
        ExceptionGroup: Of :class:`SpaceDeclarationError`, one per problem found,
            each naming the dotted field path; raised with every problem at once.
    """
    try:
        cached = _cache.get(cls)
    except TypeError:  # not weak-referenceable (not a class at all)
        cached = None
    if cached is not None:
        return cached
    from ._space import Space  # noqa: PLC0415 - _space imports this module lazily too

    compiler = _Compiler()
    root = compiler.compile_root(cls)
    if compiler.errors:
        name = getattr(cls, "__qualname__", repr(cls))
        count = len(compiler.errors)
        msg = f"invalid search space {name}: {count} problem{'s' if count > 1 else ''}"
        raise ExceptionGroup(msg, compiler.errors)
    assert root is not None
    space: Space[T] = Space._from_compiled(cls, root, tuple(compiler.dimensions), compiler.enums)
    with _cache_lock:
        _cache[cls] = space
    return space


def _is_json_scalar(value: object) -> bool:
    if value is None or isinstance(value, str | bool):
        return True
    if isinstance(value, int):
        return type(value) is int
    if isinstance(value, float):
        return type(value) is float and math.isfinite(value)
    return False


def _is_number(value: object) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _format(value: float) -> str:
    """A short human form of a computed bound (``0.8999999999999999`` -> ``0.9``)."""
    return f"{value:.12g}"


@attrs.frozen
class _Site:
    """Where a field sits: its attribute, dotted path, flat name and gating branch."""

    attribute: attrs.Attribute[Any]
    path: str
    name: str
    parent: str | None
    parent_choice: str | None

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
        name = getattr(cls, "__name__", repr(cls))
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
        self._stack.append(cls)
        try:
            fields: list[FieldNode] = []
            for attribute in attrs.fields(cls):
                if not attribute.init:
                    continue
                hint = hints.get(attribute.name, attribute.type)
                alias = attribute.alias or attribute.name
                site = _Site(
                    attribute, f"{path}.{attribute.name}", prefix + alias, parent, parent_choice
                )
                node = self.compile_field(site, hint)
                if node is not None:
                    fields.append(node)
            return ClassNode(cls=cls, path=path, fields=tuple(fields))
        finally:
            self._stack.pop()

    def _type_hints(self, cls: type, path: str) -> dict[str, Any] | None:
        try:
            return typing.get_type_hints(cls, include_extras=True)
        except Exception as exc:
            failure = exc
        module = sys.modules.get(cls.__module__)
        globalns = dict(vars(module)) if module is not None else {}
        localns = {cls.__name__: cls}
        found = False
        for attribute in attrs.fields(cls):
            annotation = attribute.type
            if not isinstance(annotation, str):
                continue
            try:
                eval(annotation, globalns, localns)
            except Exception as exc:
                found = True
                self.error(
                    f"{path}.{attribute.name}",
                    f"cannot resolve the annotation {annotation!r} ({exc}); define the "
                    "class at module level (or import it there) so typing.get_type_hints "
                    "can find it",
                )
        if not found:
            self.error(
                path,
                f"cannot resolve the type hints of {cls.__qualname__} ({failure}); define "
                "the class at module level (or import it there) so typing.get_type_hints "
                "can find it",
            )
        return None

    # -- fields -------------------------------------------------------------------
    def compile_field(self, site: _Site, hint: Any) -> FieldNode | None:
        path = site.path
        base, metadata = _unwrap_annotated(hint)
        markers = [m for m in metadata if is_marker(m)]
        bounds = [m for m in _expand_grouped(metadata) if _bound_values(m)]
        has_default = site.attribute.default is not attrs.NOTHING
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
            return None  # a constant: decode lets attrs fill the default
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
            return self._categorical(site, marker.choices, "Categorical")
        if isinstance(marker, Float):
            if base is not float:
                fix = (
                    "use ah.Int(low, high) for an int field"
                    if base is int
                    else "annotate the field as float"
                )
                self.error(path, f"ah.Float marker on a field of type {_type_name(base)}; {fix}")
                return None
            if not self._check_float(marker, path):
                return None
            column = self._add(
                site,
                DimensionKind.FLOAT,
                low=float(marker.low),
                high=float(marker.high),
                log=bool(marker.log),
                step=float(marker.step) if marker.step is not None else None,
            )
            return LeafField(site.attribute.name, site.alias, column, "float")
        if base is not int:
            fix = (
                "use ah.Float(low, high, step=1.0) for a float field"
                if base is float
                else "annotate the field as int"
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
        is_int = base is int
        if base not in (int, float):
            self.error(
                path,
                f"annotated-types bounds on a field of type {_type_name(base)}; they "
                "describe a range, so annotate the field as float or int",
            )
            return None
        low: float | None = None
        high: float | None = None
        if "ge" in found:
            low = found["ge"]
        elif "gt" in found:
            gt = found["gt"]
            low = gt + 1 if is_int else (math.nextafter(gt, math.inf) if _is_number(gt) else gt)
        if "le" in found:
            high = found["le"]
        elif "lt" in found:
            lt = found["lt"]
            high = lt - 1 if is_int else (math.nextafter(lt, -math.inf) if _is_number(lt) else lt)
        if low is None or high is None:
            self.error(
                path,
                f"annotated-types bounds {found!r} give no finite range; use "
                "Interval(ge=low, le=high) (both bounds) or an ah.Float/ah.Int marker",
            )
            return None
        marker: Float | Int = Int(low, high) if is_int else Float(low, high)  # type: ignore[arg-type]
        return self._marked(site, marker, base)

    def _check_float(self, marker: Float, path: str) -> bool:
        ok = True
        low, high, step = marker.low, marker.high, marker.step
        if not (_is_number(low) and _is_number(high)):
            self.error(path, f"Float bounds must be numbers, got low={low!r}, high={high!r}")
            return False
        if not (math.isfinite(low) and math.isfinite(high)):
            self.error(path, f"Float bounds must be finite, got low={low!r}, high={high!r}")
            return False
        if low >= high:
            self.error(
                path,
                f"low={low!r} >= high={high!r}; make low < high (for a fixed value, "
                "give the field a default and no marker)",
            )
            ok = False
        if marker.log and low <= 0:
            self.error(
                path,
                f"log=True needs low > 0, got low={low!r}; use a positive low such as "
                f"{_format(high / 1e3) if high > 0 else '1e-3'} or drop log=True",
            )
            ok = False
        if step is not None:
            if marker.log:
                self.error(
                    path,
                    f"log=True together with step={step!r} is not supported on floats; "
                    "drop one of them",
                )
                ok = False
            elif not _is_number(step) or not math.isfinite(step) or step <= 0:
                self.error(path, f"step must be a positive number, got step={step!r}")
                ok = False
            elif ok:
                ok = self._check_divides(low, high, step, path)
        return ok

    def _check_int(self, marker: Int, path: str) -> bool:
        ok = True
        low, high, step = marker.low, marker.high, marker.step
        given: tuple[object, ...] = (low, high, step)
        if not all(isinstance(v, int) and not isinstance(v, bool) for v in given):
            self.error(
                path,
                f"Int low, high and step must be ints, got low={low!r}, high={high!r}, "
                f"step={step!r}; use ah.Float for fractional bounds",
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
            self.error(path, f"log=True needs low >= 1, got low={low!r}; use low=1 or drop log")
            ok = False
        if step < 1:
            self.error(path, f"step must be a positive int, got step={step!r}")
            return False
        if marker.log and step != 1:
            self.error(
                path,
                f"log=True together with step={step!r} is not supported on ints; drop one of them",
            )
            ok = False
        if ok:
            ok = self._check_divides(low, high, step, path)
        return ok

    def _check_divides(self, low: float, high: float, step: float, path: str) -> bool:
        count = (high - low) / step
        if abs(count - round(count)) <= 1e-9 * max(1.0, count):
            return True
        below = low + math.floor(count) * step
        above = low + math.ceil(count) * step
        self.error(
            path,
            f"step={step!r} does not divide high - low = {_format(high - low)}; use "
            f"high={_format(below)} or high={_format(above)}, or a step that divides the range",
        )
        return False

    def _categorical(self, site: _Site, choices: tuple[Any, ...], what: str) -> LeafField | None:
        path = site.path
        if not choices:
            self.error(path, f"{what} has no choices; give at least one")
            return None
        bad = [c for c in choices if not _is_json_scalar(c)]
        if bad:
            self.error(
                path,
                f"{what} value(s) {bad!r} are not JSON scalars; use str, int, bool, None "
                "or a finite float (use an Enum for other objects)",
            )
            return None
        seen: set[str] = set()
        for choice in choices:
            key = json.dumps(choice)
            if key in seen:
                self.error(path, f"{what} choice {choice!r} appears twice; remove the duplicate")
                return None
            seen.add(key)
        column = self._add(site, DimensionKind.CATEGORICAL, choices=tuple(choices))
        return LeafField(site.attribute.name, site.alias, column, "value")

    def _enum(self, site: _Site, base: type[enum.Enum]) -> FieldNode | None:
        names = tuple(member.name for member in base)
        node = self._categorical(site, names, "Enum")
        if node is None:
            return None
        self.enums[node.column] = base
        return LeafField(node.attr_name, node.alias, node.column, "enum", base)

    def _union(self, site: _Site, base: Any) -> FieldNode | None:
        path, name = site.path, site.name
        members: list[tuple[str, type | None]] = []
        ok = True
        for raw in get_args(base):
            member, _ = _unwrap_annotated(raw)
            if member is type(None):
                members.append((_NONE_TAG, None))
            elif isinstance(member, type) and attrs.has(member):
                members.append((member.__name__, member))
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
    if isinstance(tp, type):
        return tp.__qualname__
    return repr(tp)


def _missing_marker_message(base: Any) -> str:
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
