"""The compiled search space: flat dimensions plus sampling, encoding and decoding."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Generic, TypeVar

import numpy as np
import numpy.typing as npt

from .._types import JSONScalar, JSONValue, Params
from ._dimension import Dimension

__all__ = ["Space", "T"]

T = TypeVar("T")

FloatMatrix = npt.NDArray[np.float64]
BoolMatrix = npt.NDArray[np.bool_]


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
            or structure, not with field order inside a union.
    """

    cls: type[T]
    dimensions: tuple[Dimension, ...]
    fingerprint: str

    # -- lookup -------------------------------------------------------------------
    @property
    def names(self) -> tuple[str, ...]:
        """Flat names of all dimensions, in ``dimensions`` order."""
        raise NotImplementedError

    def index(self, name: str) -> int:
        """Column of the dimension called ``name`` in numeric vectors."""
        raise NotImplementedError

    # -- sampling (the prior) -----------------------------------------------------
    def sample(self, rng: np.random.Generator) -> dict[str, JSONScalar]:
        """Draw one configuration from the prior, as flat parameters."""
        raise NotImplementedError

    def sample_vectors(self, rng: np.random.Generator, n: int) -> FloatMatrix:
        """Draw ``n`` configurations from the prior as an ``(n, d)`` numeric matrix.

        Vectorised: no Python loop over the ``n`` rows. Inactive entries are ``NaN``.
        """
        raise NotImplementedError

    # -- numeric encoding ---------------------------------------------------------
    def to_vector(self, params: Params) -> npt.NDArray[np.float64]:
        """Flat parameters -> numeric vector of length ``d`` (``NaN`` when inactive)."""
        raise NotImplementedError

    def to_matrix(self, params: Sequence[Params]) -> FloatMatrix:
        """Many flat parameter dicts -> ``(n, d)`` numeric matrix."""
        raise NotImplementedError

    def from_vector(self, vector: npt.NDArray[np.float64]) -> dict[str, JSONScalar]:
        """Numeric vector -> flat parameters.

        Rounds ints and quantized floats to their grid, clips into bounds, maps
        categorical indices to their stored values, and keeps only the dimensions
        that are active under the branch values in the vector.
        """
        raise NotImplementedError

    def active_mask(self, matrix: FloatMatrix) -> BoolMatrix:
        """Which entries of an ``(n, d)`` matrix are active, from its branch columns."""
        raise NotImplementedError

    # -- instances ----------------------------------------------------------------
    def encode(self, config: T) -> dict[str, JSONScalar]:
        """Instance -> flat parameters (inactive parameters absent).

        Raises:
            ParameterError: A field's value is outside its dimension.
        """
        raise NotImplementedError

    def decode(self, params: Params) -> T:
        """Flat parameters -> a real instance of ``cls``.

        Raises:
            ParameterError: A value is missing, of the wrong type, out of bounds,
                off its step grid, or belongs to an inactive branch.
        """
        raise NotImplementedError

    def validate(self, params: Params) -> dict[str, JSONScalar]:
        """Check flat parameters against the space and return them normalised.

        Raises:
            ParameterError: As for :meth:`decode`.
        """
        raise NotImplementedError

    def describe(self) -> list[dict[str, JSONValue]]:
        """A JSON-safe description of every dimension (kind, bounds, log, step,
        choices, and the branch condition under which it is active)."""
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"Space({self.cls.__qualname__}, {len(self.dimensions)} dimensions)"


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
    raise NotImplementedError


def _unused(*_: Any) -> None:  # pragma: no cover - keeps imports used until implemented
    del _
