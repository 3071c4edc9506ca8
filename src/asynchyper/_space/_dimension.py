"""The description of one flat dimension of a compiled space."""

from __future__ import annotations

import enum

import attrs

from .._types import JSONScalar

__all__ = ["Dimension", "DimensionKind"]


class DimensionKind(enum.Enum):
    """What kind of values a dimension holds."""

    FLOAT = "float"
    INT = "int"
    CATEGORICAL = "categorical"


@attrs.frozen(kw_only=True)
class Dimension:
    """One flat, branch-tagged parameter of a compiled space.

    Attributes:
        name: Flat parameter name, e.g. ``"lr"``, ``"model"``, ``"model:SVM.C"``.
        path: Dotted field path for messages, e.g. ``"Space.model[SVM].C"``.
        kind: Float, int or categorical.
        low: Lower bound (float/int dimensions), else ``None``.
        high: Upper bound, inclusive (float/int dimensions), else ``None``.
        log: Whether the prior is uniform in log space.
        step: Quantization step (int dimensions always have one; floats may).
        choices: The stored values of a categorical dimension, in declaration order:
            literal values, enum member *names*, or branch tags (class names, ``"None"``).
        weights: The prior probability of each choice (summing to one), or ``()`` when
            all are alike.
        is_branch: Whether this categorical chooses between the members of a union field.
        parent: Name of the branch dimension that gates this one, or ``None`` when the
            dimension is always active.
        parent_choice: The value of ``parent`` under which this dimension is active.
        mu: The mean of a float dimension's Gaussian prior (of its logarithm with
            ``log``), or ``None`` when the prior is uniform.
        sigma: That prior's standard deviation, or ``None``.
    """

    name: str
    path: str
    kind: DimensionKind
    low: float | None = None
    high: float | None = None
    log: bool = False
    step: float | None = None
    choices: tuple[JSONScalar, ...] = ()
    weights: tuple[float, ...] = ()
    is_branch: bool = False
    parent: str | None = None
    parent_choice: JSONScalar = None
    mu: float | None = None
    sigma: float | None = None
