"""The compiled search space: flat dimensions plus sampling, encoding and decoding."""

from __future__ import annotations

import enum
import hashlib
import json
import math
import numbers
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Generic, TypeVar

import attrs
import numpy as np
import numpy.typing as npt

from .._errors import ParameterError, RejectedByClassError
from .._types import JSONScalar, JSONValue, Params
from ._codec import Codec, choice_key
from ._dimension import Dimension, DimensionKind
from ._tree import ClassNode, LeafField, NestedField, UnionField

__all__ = ["Space", "T", "compile_space", "description_fingerprint", "objective_config"]

T = TypeVar("T")

FloatMatrix = npt.NDArray[np.float64]
BoolMatrix = npt.NDArray[np.bool_]

#: Bumped whenever the canonical form hashed by the fingerprint changes in a way that
#: could make two different spaces hash alike. (Sorting categorical choices did not
#: need a bump: a space whose choices were already sorted keeps its old fingerprint.)
_FINGERPRINT_VERSION = "asynchyper-space-1"


class Space(Generic[T]):
    """A compiled search space for the attrs class ``T``.

    Obtain one with :func:`asynchyper.compile_space` (cached per class); never
    construct it directly.

    Two representations of a configuration exist besides the instance itself:

    * **flat parameters** (``dict[str, JSONScalar]``): JSON-safe, branch-tagged names,
      inactive parameters absent. This is what storage keeps.
    * **numeric vectors** (``float64`` array of length ``len(dimensions)``): float/int
      dimensions hold their value, categorical ones the index into
      ``Dimension.choices``; inactive dimensions hold ``NaN``. This is what
      suggesters work with, vectorised over many trials at once.

    Attributes:
        cls: The attrs class this space was compiled from.
        dimensions: Every flat dimension, parents before their children.
        fingerprint: Stable hex digest of the space; changes with any bound, choice
            or structure, not with the order of a union's members or of categorical
            choices (values are stored by name or value, never by position).
    """

    cls: type[T]
    dimensions: tuple[Dimension, ...]
    fingerprint: str

    _root: ClassNode
    _codecs: tuple[Codec, ...]
    _index: dict[str, int]
    _names: tuple[str, ...]
    _gated: tuple[Codec, ...]
    # Whether an objective could change a configuration (a class not frozen).
    _mutable: bool

    @classmethod
    def _from_compiled(
        cls,
        target: type[T],
        root: ClassNode,
        dimensions: tuple[Dimension, ...],
        enums: dict[int, type[enum.Enum]],
    ) -> Space[T]:
        space: Space[T] = cls.__new__(cls)
        space.cls = target
        space.dimensions = dimensions
        space._root = root
        space._names = tuple(d.name for d in dimensions)
        space._index = {name: i for i, name in enumerate(space._names)}
        codecs = []
        for column, dim in enumerate(dimensions):
            parent_column = parent_index = -1
            if dim.parent is not None:
                parent_column = space._index[dim.parent]
                parent_index = dimensions[parent_column].choices.index(dim.parent_choice)
            codecs.append(Codec(dim, column, parent_column, parent_index, enums.get(column)))
        space._codecs = tuple(codecs)
        space._gated = tuple(c for c in codecs if c.parent_column >= 0)
        space.fingerprint = _fingerprint(dimensions)
        space._mutable = not all(_is_frozen(node.cls) for node in _class_nodes(root))
        return space

    # -- lookup -------------------------------------------------------------------
    @property
    def names(self) -> tuple[str, ...]:
        """Flat names of all dimensions, in ``dimensions`` order."""
        return self._names

    def index(self, name: str) -> int:
        """Column of the dimension called ``name`` in numeric vectors.

        Args:
            name: A flat parameter name such as ``"model:SVM.C"``.

        Returns:
            The column index.

        Raises:
            ParameterError: No dimension has that name.
        """
        try:
            return self._index[name]
        except KeyError:
            msg = f"no dimension named {name!r} in {self!r}; known names: {list(self._names)!r}"
            raise ParameterError(msg) from None

    # -- sampling (the prior) -----------------------------------------------------
    def sample(self, rng: np.random.Generator) -> dict[str, JSONScalar]:
        """Draw one configuration from the prior, as flat parameters.

        Args:
            rng: The random generator to draw from.

        Returns:
            Flat parameters of the drawn configuration (inactive ones absent). They
            fit every marker; the class's own validators may still reject them in
            :meth:`decode` (a study draws again then).
        """
        units = rng.random(len(self._codecs)).tolist()
        params: dict[str, JSONScalar] = {}
        for codec, u in zip(self._codecs, units, strict=True):
            # a gated dimension is active iff its parent holds its branch tag (an absent
            # parent, i.e. an inactive one, never does)
            parent = codec.dimension.parent
            if parent is not None and params.get(parent) != codec.dimension.parent_choice:
                continue
            params[codec.name] = codec.draw_value(u)
        return params

    def sample_vectors(
        self, rng: np.random.Generator, n: int, *, inactive: bool = False
    ) -> FloatMatrix:
        """Draw ``n`` configurations from the prior as an ``(n, d)`` numeric matrix.

        Vectorised: no Python loop over the ``n`` rows.

        Args:
            rng: The random generator to draw from.
            n: Number of configurations.
            inactive: Keep a draw in every entry, the inactive ones too (so that a
                branch column changed afterwards finds its children's values);
                by default inactive entries are ``NaN``. The draws are the same.

        Returns:
            The ``(n, d)`` matrix.
        """
        units = rng.random((n, len(self._codecs)))
        matrix = np.empty_like(units)
        for codec in self._codecs:
            matrix[:, codec.column] = codec.column_from_unit(units[:, codec.column])
        if not inactive:
            matrix[~self.active_mask(matrix)] = np.nan
        return matrix

    # -- numeric encoding ---------------------------------------------------------
    def to_vector(self, params: Params) -> npt.NDArray[np.float64]:
        """Flat parameters -> numeric vector of length ``d`` (``NaN`` when inactive).

        Args:
            params: Flat parameters (assumed valid; categorical values are checked).

        Returns:
            The numeric vector.

        Raises:
            ParameterError: A categorical value is not one of its choices, or a
                numeric value is not a number.
        """
        vector = np.full(len(self._codecs), np.nan)
        for codec in self._codecs:
            if codec.name in params:
                vector[codec.column] = codec.number_of(params[codec.name])
        return vector

    def to_matrix(self, params: Sequence[Params]) -> FloatMatrix:
        """Many flat parameter dicts -> ``(n, d)`` numeric matrix.

        Args:
            params: Flat parameter dicts.

        Returns:
            The ``(len(params), d)`` matrix.

        Raises:
            ParameterError: As for :meth:`to_vector`.
        """
        matrix = np.full((len(params), len(self._codecs)), np.nan)
        for row, p in enumerate(params):
            for codec in self._codecs:
                if codec.name in p:
                    matrix[row, codec.column] = codec.number_of(p[codec.name])
        return matrix

    def from_vector(self, vector: npt.NDArray[np.float64]) -> dict[str, JSONScalar]:
        """Numeric vector -> flat parameters.

        Rounds ints and quantized floats to their grid, clips into bounds, maps
        categorical indices to their stored values, and keeps only the dimensions
        that are active under the branch values in the vector.

        Args:
            vector: A vector of length ``d``; inactive columns may hold anything.

        Returns:
            Valid flat parameters.

        Raises:
            ParameterError: The vector has the wrong length, or an active entry is
                not finite.
        """
        values = self._check_row(vector)
        params: dict[str, JSONScalar] = {}
        isfinite = math.isfinite
        for codec, x in zip(self._codecs, values, strict=True):
            parent = codec.dimension.parent
            if parent is not None and params.get(parent) != codec.dimension.parent_choice:
                continue
            if not isfinite(x):
                msg = (
                    f"vector entry {codec.column} ({codec.name!r}) is {x!r} but the "
                    "dimension is active there; give it a finite value"
                )
                raise ParameterError(msg)
            params[codec.name] = codec.snap_value(x)
        return params

    def from_matrix(self, matrix: FloatMatrix) -> list[dict[str, JSONScalar]]:
        """Vectorised :meth:`from_vector` over the rows of an ``(n, d)`` matrix.

        Args:
            matrix: The matrix; inactive entries may hold anything.

        Returns:
            One flat parameter dict per row.

        Raises:
            ParameterError: The matrix has the wrong shape, or an active entry is
                not finite.
        """
        matrix = np.asarray(matrix, dtype=np.float64)
        if matrix.ndim != 2 or matrix.shape[1] != len(self._codecs):
            msg = f"matrix of shape {matrix.shape} given; expected (n, {len(self._codecs)})"
            raise ParameterError(msg)
        snapped = np.empty_like(matrix)
        for codec in self._codecs:
            snapped[:, codec.column] = codec.snap_column(matrix[:, codec.column])
        mask = self.active_mask(snapped)
        bad = mask & ~np.isfinite(matrix)
        if bad.any():
            row, column = (int(i) for i in np.argwhere(bad)[0])
            msg = (
                f"matrix entry [{row}, {column}] ({self._names[column]!r}) is "
                f"{float(matrix[row, column])!r} but the dimension is active there"
            )
            raise ParameterError(msg)
        rows: list[dict[str, JSONScalar]] = [{} for _ in range(matrix.shape[0])]
        for codec in self._codecs:
            active = np.flatnonzero(mask[:, codec.column]).tolist()
            numbers = snapped[active, codec.column].tolist()
            name = codec.name
            if codec.is_categorical:
                choices = codec.choices
                for row, x in zip(active, numbers, strict=True):
                    rows[row][name] = choices[int(x)]
            elif codec.kind is DimensionKind.INT:
                for row, x in zip(active, numbers, strict=True):
                    rows[row][name] = int(x)
            else:
                for row, x in zip(active, numbers, strict=True):
                    rows[row][name] = x
        return rows

    def active_mask(self, matrix: FloatMatrix) -> BoolMatrix:
        """Which entries of an ``(n, d)`` matrix are active, from its branch columns.

        Branch columns are read as :meth:`from_vector` reads them (rounded and
        clipped to a valid index); ``NaN`` in a branch column deactivates its children.

        Args:
            matrix: An ``(n, d)`` numeric matrix (or a single length-``d`` vector).

        Returns:
            A boolean array of the same shape.
        """
        matrix = np.asarray(matrix, dtype=np.float64)
        single = matrix.ndim == 1
        rows = matrix[None, :] if single else matrix
        mask = np.ones(rows.shape, dtype=np.bool_)
        branch_index: dict[int, npt.NDArray[np.float64]] = {}
        for codec in self._gated:
            p = codec.parent_column
            index = branch_index.get(p)
            if index is None:
                index = self._codecs[p].snap_column(rows[:, p])
                branch_index[p] = index
            mask[:, codec.column] = mask[:, p] & (index == codec.parent_index)
        return mask[0] if single else mask

    def _check_row(self, vector: npt.NDArray[np.float64]) -> list[float]:
        array = np.asarray(vector, dtype=np.float64)
        if array.shape != (len(self._codecs),):
            msg = f"vector of shape {array.shape} given; expected ({len(self._codecs)},)"
            raise ParameterError(msg)
        values: list[float] = array.tolist()
        return values

    # -- instances ----------------------------------------------------------------
    def encode(self, config: T) -> dict[str, JSONScalar]:
        """Instance -> flat parameters (inactive parameters absent).

        Args:
            config: An instance of ``cls``.

        Returns:
            Its flat parameters, validated and normalised.

        Raises:
            ParameterError: A field's value is outside its dimension; or ``config`` (or
                a nested value) is of a subclass with attrs fields of its own, which
                the space cannot store (it builds the declared class).
        """
        if not isinstance(config, self.cls):
            msg = (
                f"cannot encode {config!r:.200}: expected an instance of "
                f"{self.cls.__qualname__}, got {type(config).__qualname__}"
            )
            if isinstance(config, list | tuple):
                msg += "; give one configuration per call"
            elif isinstance(config, numbers.Number):
                msg += "; the configuration comes first, as in study.add(config, value)"
            raise ParameterError(msg)
        raw: dict[str, Any] = {}
        _check_no_extra_fields(self._root, config, "use {name} as the space class")
        self._encode_node(self._root, config, raw)
        return self.validate(raw)

    def _encode_node(self, node: ClassNode, obj: object, out: dict[str, Any]) -> None:
        for field in node.fields:
            value = getattr(obj, field.attr_name)
            if isinstance(field, LeafField):
                name = self._names[field.column]
                if field.members:
                    out[name] = self._stored_member(field, name, value)
                else:
                    out[name] = value
            elif isinstance(field, NestedField):
                _check_no_extra_fields(field.node, value, "annotate the field with {name}")
                self._encode_node(field.node, value, out)
            else:
                name = self._names[field.column]
                tag = "None" if value is None else _tag_of(field, value)
                if tag is None or tag not in field.branches:
                    msg = (
                        f"{node.path}.{field.attr_name} = {value!r} is not one of the "
                        f"union's members {list(field.branches)!r}"
                    )
                    raise ParameterError(msg)
                out[name] = tag
                branch = field.branches[tag]
                if branch is not None:
                    _check_no_extra_fields(
                        branch, value, "add {name} to the union", list(field.branches)
                    )
                    self._encode_node(branch, value, out)

    def _stored_member(self, field: LeafField, name: str, value: object) -> JSONScalar:
        """The stored choice of ``value`` in a leaf whose values include enum members."""
        choices = self.dimensions[field.column].choices
        for member, stored in zip(field.members, choices, strict=True):
            if isinstance(member, enum.Enum) or isinstance(value, enum.Enum):
                if value is member:
                    return stored
            elif choice_key(value) == choice_key(member):
                return stored
        if field.enum_type is not None and not isinstance(value, field.enum_type):
            msg = (
                f"parameter {name!r} = {value!r} is not a member of "
                f"{field.enum_type.__qualname__}; allowed: {list(choices)!r}"
            )
        else:
            msg = (
                f"parameter {name!r} = {value!r} is not one of the allowed choices "
                f"{list(field.members)!r}"
            )
        raise ParameterError(msg)

    def decode(self, params: Params) -> T:
        """Flat parameters -> a real instance of ``cls``.

        Args:
            params: Flat parameters, e.g. from :meth:`sample` or storage.

        Returns:
            The instance.

        Raises:
            ParameterError: A value is missing, of the wrong type, out of bounds,
                off its step grid, or belongs to an inactive branch; or the class's
                own checks (attrs validators: a constraint between fields) reject it.
        """
        normalised = self.validate(params)
        instance: T = self._build(self._root, normalised)
        return instance

    def _build(self, node: ClassNode, params: dict[str, JSONScalar]) -> Any:
        kwargs: dict[str, Any] = {}
        for field in node.fields:
            if isinstance(field, LeafField):
                value = params[self._names[field.column]]
                if field.members:
                    index = self._codecs[field.column].index_of(value)
                    kwargs[field.alias] = field.members[index]
                else:
                    kwargs[field.alias] = value
            elif isinstance(field, NestedField):
                kwargs[field.alias] = self._build(field.node, params)
            else:
                tag = params[self._names[field.column]]
                assert isinstance(tag, str)
                branch = field.branches[tag]
                kwargs[field.alias] = None if branch is None else self._build(branch, params)
        try:
            return node.cls(**kwargs)
        except (AttributeError, NameError) as exc:
            # A misspelt name is a bug in the class, the same for every proposal: as a
            # rejection it would only surface after REJECTED_LIMIT draws, as "too
            # constrained". A constraint raises ValueError or TypeError (as attrs's
            # validators do) or any other exception.
            exc.add_note(
                f"asynchyper: raised by {node.cls.__qualname__}(**{kwargs!r}) (its __init__, "
                "validators or __attrs_post_init__); an AttributeError or NameError is "
                "taken for a bug in the class, not for a rejection of the parameters"
            )
            raise
        except Exception as exc:
            msg = f"{node.cls.__qualname__}(**{kwargs!r}) rejected the parameters: {exc}"
            raise RejectedByClassError(msg) from exc

    def validate(self, params: Params, *, partial: bool = False) -> dict[str, JSONScalar]:
        """Check flat parameters against the space and return them normalised.

        Args:
            params: Flat parameters.
            partial: Accept a part of a configuration: an active parameter may be
                missing (a parameter inside a branch still needs its branch choice).

        Returns:
            The parameters in ``dimensions`` order, floats snapped to their grid.

        Raises:
            ParameterError: As for :meth:`decode`; the message lists every problem.
        """
        problems: list[str] = []
        unknown = [name for name in params if name not in self._index]
        problems.extend(
            f"unknown parameter {name!r} = {params[name]!r}; known names: {list(self._names)!r}"
            for name in unknown
        )
        normalised: dict[str, JSONScalar] = {}
        chosen: dict[int, int] = {}
        for codec in self._codecs:
            present = codec.name in params
            if codec.parent_column >= 0 and chosen.get(codec.parent_column) != codec.parent_index:
                if present:
                    problems.append(
                        self._inactive_problem(codec, params, normalised, partial=partial)
                    )
                continue
            if not present and partial:
                continue
            if not present:
                allowed = (
                    f"one of {list(codec.choices)!r}"
                    if codec.is_categorical
                    else f"a {codec.kind.value} in [{codec.dimension.low}, {codec.dimension.high}]"
                )
                problems.append(f"missing active parameter {codec.name!r}; expected {allowed}")
                continue
            try:
                if codec.is_categorical:
                    index = codec.index_of(params[codec.name])
                    chosen[codec.column] = index
                    normalised[codec.name] = codec.choices[index]
                else:
                    normalised[codec.name] = codec.check(params[codec.name])
            except ParameterError as exc:
                problems.append(str(exc))
        if problems:
            if len(problems) == 1:
                raise ParameterError(problems[0])
            msg = f"{len(problems)} problems with parameters for {self.cls.__qualname__}:\n"
            msg += "\n".join(f"  - {p}" for p in problems)
            raise ParameterError(msg)
        return normalised

    def _inactive_problem(
        self, codec: Codec, params: Params, normalised: dict[str, JSONScalar], *, partial: bool
    ) -> str:
        """What is wrong with a given parameter whose branch is not the chosen one."""
        parent = self._codecs[codec.parent_column]
        choice = codec.dimension.parent_choice
        given = (
            f"parameter {codec.name!r} = {params[codec.name]!r} belongs to branch "
            f"{parent.name}={choice!r}"
        )
        if partial and parent.name not in params:
            return f"{given}; give its branch choice too ({parent.name!r}: {choice!r})"
        if partial and parent.name not in normalised:
            return (
                f"{given}, under {parent.name!r}, which is itself inactive or invalid: "
                "give the branch choices above it too"
            )
        state = (
            f"{parent.name}={normalised[parent.name]!r}"
            if parent.name in normalised
            else f"{parent.name!r} is inactive or invalid"
        )
        return f"{given}, which is inactive ({state}); remove it"

    def describe(self) -> list[dict[str, JSONValue]]:
        """A JSON-safe description of every dimension.

        Returns:
            One dict per dimension with ``name``, ``path``, ``kind``, ``low``,
            ``high``, ``log``, ``step``, ``choices``, ``is_branch``, ``parent`` and
            ``parent_choice`` (the branch condition under which it is active), and
            ``weights`` for a categorical dimension whose choices have weights, ``mu``
            and ``sigma`` for a float dimension with a Gaussian prior.
        """
        return [_describe(d) for d in self.dimensions]

    def __repr__(self) -> str:
        return f"Space({self.cls.__qualname__}, {len(self.dimensions)} dimensions)"

    def __reduce__(self) -> tuple[Any, tuple[type[T]]]:
        # pickled by class: unpickling recompiles (or reuses the cached compile)
        return (compile_space, (self.cls,))


def objective_config(space: Space[T], config: T, params: Params) -> T:
    """The configuration to hand an objective: ``config`` itself if no class of the
    space can be changed, else a fresh instance, so that what the objective does to it
    cannot change the trial's recorded configuration."""
    return space.decode(params) if space._mutable else config


def _class_nodes(node: ClassNode) -> Iterable[ClassNode]:
    yield node
    for field in node.fields:
        if isinstance(field, NestedField):
            yield from _class_nodes(field.node)
        elif isinstance(field, UnionField):
            for branch in field.branches.values():
                if branch is not None:
                    yield from _class_nodes(branch)


def _is_frozen(cls: type) -> bool:
    # attrs has no public test; a frozen class's __setattr__ is attrs's own refusal.
    setter = getattr(cls, "__setattr__", None)
    return getattr(setter, "__module__", None) == "attr._make" and (
        getattr(setter, "__name__", None) == "_frozen_setattrs"
    )


def _check_no_extra_fields(
    node: ClassNode, obj: object, fix: str, union: list[str] | None = None
) -> None:
    """Refuse an instance of a subclass of ``node.cls`` that adds attrs fields.

    The space stores only the declared class's fields and builds that class back, so
    the subclass's own fields would be dropped without a word. A subclass that adds
    no field (a marker class, new methods) is stored as the declared class.

    Args:
        node: The compiled class ``obj`` stands for.
        obj: The value found there.
        fix: The other fix, a format string with ``{name}`` for the subclass.
        union: A union's branch tags, when ``node`` is one of its members.

    Raises:
        ParameterError: ``obj`` has attrs fields that ``node.cls`` has not.
    """
    kind: Any = type(obj)
    if kind is node.cls:
        return
    declared = {field.name for field in attrs.fields(node.cls)}
    extra = [field.name for field in attrs.fields(kind) if field.name not in declared]
    if not extra:
        return
    name, base = kind.__qualname__, node.cls.__qualname__
    where = (
        f"a member of the union {union!r}" if union is not None else f"the declared class {base}"
    )
    msg = (
        f"{node.path} = {obj!r}: {name} is not {where}: it subclasses {base} but adds "
        f"the field(s) {', '.join(extra)}, which a trial cannot store (trials are built as "
        f"{base}), so they would be dropped. Pass an instance of {base}, or "
        + fix.format(name=name)
    )
    raise ParameterError(msg)


def _tag_of(field: UnionField, value: object) -> str | None:
    tag = field.tags.get(type(value))
    if tag is None:  # an instance of a subclass of one member
        tag = next((t for cls, t in field.tags.items() if isinstance(value, cls)), None)
    return tag


def _describe(dim: Dimension) -> dict[str, JSONValue]:
    described: dict[str, JSONValue] = {
        "name": dim.name,
        "path": dim.path,
        "kind": dim.kind.value,
        "low": dim.low,
        "high": dim.high,
        "log": dim.log,
        "step": dim.step,
        "choices": list(dim.choices),
        "is_branch": dim.is_branch,
        "parent": dim.parent,
        "parent_choice": dim.parent_choice,
    }
    if dim.weights:  # only then: the description (and fingerprint) of others is unchanged
        described["weights"] = list(dim.weights)
    if dim.mu is not None:  # likewise
        described["mu"] = dim.mu
        described["sigma"] = dim.sigma
    return described


def _fingerprint(dimensions: Sequence[Dimension]) -> str:
    return description_fingerprint(_describe(dim) for dim in dimensions)


def description_fingerprint(description: Iterable[Mapping[str, JSONValue]]) -> str:
    """The fingerprint of a space, from its description (:meth:`Space.describe`).

    A sha256 of a canonical JSON form that ignores the order of the dimensions, of
    a union's members and of categorical choices, and the class names in the paths.
    It also accepts a description that went through JSON (as storage keeps it), so a
    stored study's space can be fingerprinted again after this canonical form changes.

    Args:
        description: One mapping per dimension, as :meth:`Space.describe` returns.

    Returns:
        The hex digest; equal to :attr:`Space.fingerprint` of the described space.
    """
    canonical = []
    for dimension in sorted(description, key=lambda d: str(d.get("name"))):
        entry = dict(dimension)
        entry.pop("path", None)  # the class name is not part of the space's shape
        choices = entry.get("choices")
        weights = entry.get("weights")
        if isinstance(choices, list) and isinstance(weights, list) and len(weights) == len(choices):
            # Each weight stays with its choice: reordering both is no change, moving a
            # weight to another choice is one.
            pairs = sorted(zip(choices, weights, strict=True), key=lambda p: json.dumps(p[0]))
            entry["choices"] = [choice for choice, _ in pairs]
            entry["weights"] = [weight for _, weight in pairs]
        elif isinstance(choices, list):
            entry["choices"] = sorted(choices, key=json.dumps)
        canonical.append(entry)
    text = json.dumps([_FINGERPRINT_VERSION, canonical], sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


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
    from ._compile import compile_space as compile_  # noqa: PLC0415 - _compile imports Space

    return compile_(cls)
