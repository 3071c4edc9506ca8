"""Hand-written spaces shared by the space tests (module level, so hints resolve)."""

from __future__ import annotations

import enum
from typing import Annotated, Literal

import attrs

import asynchyper as ah

LearningRate = Annotated[float, ah.Float(1e-5, 1e-1, log=True)]


class Activation(enum.Enum):
    """An enum stored by member name."""

    RELU = "relu"
    TANH = 2


@attrs.frozen(kw_only=True)
class Poly:
    degree: Annotated[int, ah.Int(2, 5)]


@attrs.frozen(kw_only=True)
class RBF:
    gamma: Annotated[float, ah.Float(1e-4, 1.0, log=True)]


@attrs.frozen(kw_only=True)
class SVM:
    C: Annotated[float, ah.Float(1e-3, 1e3, log=True)]
    kernel: Literal["rbf", "poly"]
    kernel_cfg: Poly | RBF


@attrs.frozen(kw_only=True)
class Forest:
    n_estimators: Annotated[int, ah.Int(10, 1000, log=True)]
    bootstrap: bool


@attrs.frozen(kw_only=True)
class PCA:
    n_components: Annotated[int, ah.Int(2, 64, step=2)]


@attrs.define
class Adam:
    lr: LearningRate
    beta: Annotated[float, ah.Float(0.8, 0.999)]


@attrs.frozen(kw_only=True)
class Space:
    lr: LearningRate
    dropout: Annotated[float, ah.Float(0.0, 0.5, step=0.05)]
    model: SVM | Forest
    preproc: PCA | None
    opt: Adam
    activation: Activation
    width: Annotated[int, ah.Categorical([64, 128, 256])]
    seed: int = 0
    tag: str = "default"


@attrs.frozen(kw_only=True)
class ReorderedSpace:
    """``Space`` with its union members listed in another order."""

    lr: LearningRate
    dropout: Annotated[float, ah.Float(0.0, 0.5, step=0.05)]
    model: Forest | SVM
    preproc: None | PCA  # noqa: RUF036 - the order is what this class tests
    opt: Adam
    activation: Activation
    width: Annotated[int, ah.Categorical([64, 128, 256])]
    seed: int = 0
    tag: str = "default"
