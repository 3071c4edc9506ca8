"""Search spaces shared by the suggester tests (module level, so hints resolve)."""

from __future__ import annotations

import enum
from typing import Annotated, Literal

import attrs

import asynchyper as ah


@attrs.frozen(kw_only=True)
class Floats:
    x: Annotated[float, ah.Float(-5.0, 5.0)]
    y: Annotated[float, ah.Float(0.0, 1.0)]


@attrs.frozen(kw_only=True)
class Ints:
    n: Annotated[int, ah.Int(-3, 7)]
    m: Annotated[int, ah.Int(0, 100, step=5)]


@attrs.frozen(kw_only=True)
class Logs:
    lr: Annotated[float, ah.Float(1e-6, 1e-1, log=True)]
    units: Annotated[int, ah.Int(1, 1024, log=True)]


@attrs.frozen(kw_only=True)
class Gaussians:
    """Gaussian priors (Hyperopt's ``normal`` and ``lognormal``), truncated."""

    x: Annotated[float, ah.Float(-100.0, 100.0, mu=2.0, sigma=1.0)]
    lr: Annotated[float, ah.Float(1e-9, 1.0, log=True, mu=-7.0, sigma=1.0)]


@attrs.frozen(kw_only=True)
class Steps:
    dropout: Annotated[float, ah.Float(0.0, 0.5, step=0.05)]
    width: Annotated[int, ah.Int(16, 256, step=16)]


@attrs.frozen(kw_only=True)
class LogSteps:
    """Log ranges on a grid (Hyperopt's ``qloguniform``)."""

    batch: Annotated[int, ah.Int(8, 1024, log=True, step=8)]
    lr: Annotated[float, ah.Float(1e-4, 1e-1, log=True, step=1e-4)]


class Color(enum.Enum):
    """An enum stored by member name."""

    RED = 1
    GREEN = 2
    BLUE = 3


@attrs.frozen(kw_only=True)
class Categoricals:
    color: Color
    flag: bool
    name: Literal["a", "b", "c", "d"]
    size: Annotated[int, ah.Categorical([8, 16, 32])]


@attrs.frozen(kw_only=True)
class SVM:
    C: Annotated[float, ah.Float(1e-3, 1e3, log=True)]
    kernel: Literal["rbf", "poly"]


@attrs.frozen(kw_only=True)
class Forest:
    n_estimators: Annotated[int, ah.Int(10, 1000, log=True)]
    depth: Annotated[int, ah.Int(1, 12)]


@attrs.frozen(kw_only=True)
class PCA:
    n_components: Annotated[int, ah.Int(2, 64, step=2)]


@attrs.frozen(kw_only=True)
class Conditional:
    lr: Annotated[float, ah.Float(1e-5, 1e-1, log=True)]
    model: SVM | Forest
    preproc: PCA | None


@attrs.frozen(kw_only=True)
class Leaf:
    z: Annotated[float, ah.Float(0.0, 1.0)]


@attrs.frozen(kw_only=True)
class OtherLeaf:
    w: Annotated[int, ah.Int(0, 9)]


@attrs.frozen(kw_only=True)
class Middle:
    y: Annotated[float, ah.Float(-1.0, 1.0)]
    inner: Leaf | OtherLeaf


@attrs.frozen(kw_only=True)
class OtherMiddle:
    q: Literal["u", "v"]


@attrs.frozen(kw_only=True)
class Top:
    x: Annotated[float, ah.Float(0.0, 10.0)]
    inner: Middle | OtherMiddle


@attrs.frozen(kw_only=True)
class OtherTop:
    k: Annotated[int, ah.Int(1, 3)]


@attrs.frozen(kw_only=True)
class Deep:
    """Three levels of nested unions."""

    outer: Top | OtherTop
    scale: Annotated[float, ah.Float(0.1, 10.0, log=True)]


@attrs.frozen(kw_only=True)
class SmallDiscrete:
    """Exactly 12 configurations."""

    letter: Literal["a", "b", "c"]
    count: Annotated[int, ah.Int(0, 3)]


@attrs.frozen(kw_only=True)
class BranchA:
    a: Annotated[int, ah.Int(0, 2)]


@attrs.frozen(kw_only=True)
class BranchB:
    b: bool


@attrs.frozen(kw_only=True)
class SmallConditional:
    """Exactly 3 + 2 + 1 = 6 configurations."""

    choice: BranchA | BranchB | None


@attrs.frozen(kw_only=True)
class IntAndFloat:
    n: Annotated[int, ah.Int(0, 10)]
    x: Annotated[float, ah.Float(0.0, 10.0)]


@attrs.frozen(kw_only=True)
class Line:
    x: Annotated[float, ah.Float(-10.0, 10.0)]


@attrs.frozen(kw_only=True)
class Plane:
    x: Annotated[float, ah.Float(0.0, 1.0)]
    y: Annotated[float, ah.Float(0.0, 1.0)]


@attrs.frozen(kw_only=True)
class Left:
    x: Annotated[float, ah.Float(0.0, 1.0)]


@attrs.frozen(kw_only=True)
class Right:
    x: Annotated[float, ah.Float(0.0, 1.0)]


@attrs.frozen(kw_only=True)
class TwoBranches:
    side: Left | Right


@attrs.frozen(kw_only=True)
class Wide:
    x: Annotated[float, ah.Float(-15.0, 15.0)]


@attrs.frozen(kw_only=True)
class NoDimensions:
    """Nothing to search: every field is a constant."""

    epochs: int = 3
