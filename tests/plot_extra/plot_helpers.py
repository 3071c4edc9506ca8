"""Spaces and trial builders shared by the plot and importance tests.

Module level, so that type hints resolve. The directory has no ``__init__.py``:
pytest imports these modules by their (unique) names.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Annotated, Literal

import attrs
import numpy as np

import asynchyper as ah
from asynchyper._types import JSONScalar


@attrs.frozen(kw_only=True)
class XYZ:
    """Three floats on [0, 1] for the known-answer importance test."""

    x: Annotated[float, ah.Float(0.0, 1.0)]
    y: Annotated[float, ah.Float(0.0, 1.0)]
    z: Annotated[float, ah.Float(0.0, 1.0)]


@attrs.frozen(kw_only=True)
class Plain:
    """A flat space with every kind of dimension."""

    lr: Annotated[float, ah.Float(1e-5, 1e-1, log=True)]
    dropout: Annotated[float, ah.Float(0.0, 0.5, step=0.05)]
    layers: Annotated[int, ah.Int(1, 6)]
    optimizer: Literal["adam", "sgd", "rmsprop"]


@attrs.frozen(kw_only=True)
class SVM:
    """One branch of the union."""

    C: Annotated[float, ah.Float(1e-3, 1e3, log=True)]
    kernel: Literal["rbf", "poly"]


@attrs.frozen(kw_only=True)
class Forest:
    """The other branch."""

    n_estimators: Annotated[int, ah.Int(10, 1000, log=True)]
    depth: Annotated[int, ah.Int(1, 12)]


@attrs.frozen(kw_only=True)
class PCA:
    """An optional pre-processing step."""

    n_components: Annotated[int, ah.Int(2, 64, step=2)]


@attrs.frozen(kw_only=True)
class Conditional:
    """Two union fields: ``model`` (SVM | Forest) and ``preproc`` (PCA | None)."""

    lr: Annotated[float, ah.Float(1e-5, 1e-1, log=True)]
    model: SVM | Forest
    preproc: PCA | None


@attrs.frozen(kw_only=True)
class PolyKernel:
    """A rare nested branch: three siblings active on the same few trials."""

    degree: Annotated[int, ah.Int(2, 5)]
    gamma: Annotated[float, ah.Float(1e-4, 1.0, log=True)]
    coef0: Annotated[float, ah.Float(0.0, 1.0)]


@attrs.frozen(kw_only=True)
class RBF:
    """Another kernel."""

    gamma: Annotated[float, ah.Float(1e-4, 1.0, log=True)]


@attrs.frozen(kw_only=True)
class Sigmoid:
    """Another kernel."""

    gamma: Annotated[float, ah.Float(1e-4, 1.0, log=True)]
    coef0: Annotated[float, ah.Float(-1.0, 1.0)]


@attrs.frozen(kw_only=True)
class KernelSVC:
    """A model with a nested union field."""

    C: Annotated[float, ah.Float(1e-3, 1e3, log=True)]
    kernel: PolyKernel | RBF | Sigmoid | None


@attrs.frozen(kw_only=True)
class TreeEnsemble:
    """A model."""

    n: Annotated[int, ah.Int(10, 300, log=True)]
    depth: Annotated[int, ah.Int(1, 32)]
    leaf: Annotated[int, ah.Int(1, 20, log=True)]
    frac: Annotated[float, ah.Float(0.1, 1.0)]
    boot: bool


@attrs.frozen(kw_only=True)
class Boost:
    """A model."""

    lr: Annotated[float, ah.Float(0.01, 0.5, log=True)]
    iters: Annotated[int, ah.Int(20, 300, log=True)]
    leaves: Annotated[int, ah.Int(8, 128, log=True)]
    l2: Annotated[float, ah.Float(1e-6, 1.0, log=True)]


@attrs.frozen(kw_only=True)
class KNN:
    """A model."""

    k: Annotated[int, ah.Int(1, 50, log=True)]
    weights: Literal["uniform", "distance"]
    p: Literal[1, 2]


@attrs.frozen(kw_only=True)
class SGD:
    """A model."""

    alpha: Annotated[float, ah.Float(1e-7, 1e-1, log=True)]
    l1: Annotated[float, ah.Float(0.0, 1.0)]
    loss: Literal["hinge", "log", "huber"]


@attrs.frozen(kw_only=True)
class MLP:
    """A model."""

    width: Annotated[int, ah.Int(16, 256, log=True)]
    layers: Annotated[int, ah.Int(1, 3)]
    alpha: Annotated[float, ah.Float(1e-6, 1e-1, log=True)]


@attrs.frozen(kw_only=True)
class Robust:
    """A pre-processing step."""

    low: Annotated[float, ah.Float(5.0, 35.0)]
    high: Annotated[float, ah.Float(65.0, 95.0)]


@attrs.frozen(kw_only=True)
class PCAStep:
    """Another pre-processing step."""

    variance: Annotated[float, ah.Float(0.5, 0.99)]
    whiten: bool


@attrs.frozen(kw_only=True)
class Wide:
    """A pipeline-like space: 32 flat dimensions, two levels of union fields."""

    pre: Robust | PCAStep | None
    model: KernelSVC | TreeEnsemble | Boost | KNN | SGD | MLP


#: Number of parameters (flat dimensions) of each space.
PLAIN_PARAMS = 4
CONDITIONAL_PARAMS = 8
#: Union fields of ``Conditional``.
CONDITIONAL_UNIONS = 2

Params = Mapping[str, JSONScalar]


def num(p: Params, name: str) -> float:
    """The numeric parameter ``name`` of ``p``."""
    value = p[name]
    assert isinstance(value, int | float)
    return float(value)


def xyz_loss(p: Params) -> float:
    """``100 (x - 0.3)^2 + (y - 0.5)^2 + 0 z``: x matters most, y a little, z not at all."""
    return 100.0 * (num(p, "x") - 0.3) ** 2 + (num(p, "y") - 0.5) ** 2


def plain_loss(p: Params) -> float:
    """A loss on ``Plain`` where lr matters most and the optimizer a little."""
    offset = {"adam": 0.0, "sgd": 0.3, "rmsprop": 0.1}[str(p["optimizer"])]
    return (math.log10(num(p, "lr")) + 3.0) ** 2 + offset + 0.05 * num(p, "layers")


def conditional_loss(p: Params) -> float:
    """A loss on ``Conditional``: the forest is better, C matters inside SVM."""
    loss = 0.2 * abs(math.log10(num(p, "lr")) + 3.0)
    if p["model"] == "SVM":
        loss += 1.0 + 0.3 * math.log10(num(p, "model:SVM.C")) ** 2
    else:
        loss += 0.1 * abs(num(p, "model:Forest.depth") - 6)
    return loss


def records(
    cls: type[object],
    loss: Callable[[Params], float],
    n: int,
    *,
    seed: int = 0,
    fail_every: int = 0,
) -> list[ah.TrialRecord]:
    """``n`` trials sampled from the prior of ``cls``: complete, or failed every k-th."""
    space = ah.compile_space(cls)
    rng = np.random.default_rng(seed)
    out = []
    for number in range(n):
        params = space.sample(rng)
        failed = fail_every > 0 and number % fail_every == fail_every - 1
        out.append(
            ah.TrialRecord(
                study_id=1,
                number=number,
                state=ah.TrialState.FAILED if failed else ah.TrialState.COMPLETE,
                params=params,
                value=None if failed else loss(params),
                error="ValueError: boom" if failed else None,
            )
        )
    return out
