"""Typing tests: this file is checked by mypy (``--strict --warn-unused-ignores``)
and never run. Each ``# type: ignore[code]`` marks an error that *must* occur:
if the library's types stopped rejecting that line, the ignore would be unused
and mypy would fail.
"""

from __future__ import annotations

import enum
from typing import Annotated, Literal

import attrs
import numpy as np

import asynchyper as ah


class Activation(enum.Enum):
    RELU = "relu"
    TANH = "tanh"


@attrs.frozen(kw_only=True)
class SVM:
    C: Annotated[float, ah.Float(1e-3, 1e3, log=True)]
    kernel: Literal["rbf", "poly"]


@attrs.frozen(kw_only=True)
class Forest:
    n_estimators: Annotated[int, ah.Int(10, 1000, log=True)]
    bootstrap: bool


@attrs.frozen(kw_only=True)
class PCA:
    n_components: Annotated[int, ah.Int(2, 64)]


@attrs.frozen(kw_only=True)
class Space:
    lr: Annotated[float, ah.Float(1e-5, 1e-1, log=True)]
    model: SVM | Forest
    preproc: PCA | None
    activation: Activation
    seed: int = 0


@attrs.frozen
class Other:
    x: Annotated[float, ah.Float(0.0, 1.0)]


# -- objectives ------------------------------------------------------------------------
async def objective(cfg: Space) -> float:
    # a union field has no attributes of its own until narrowed
    cfg.model.C  # type: ignore[union-attr]  # noqa: B018
    cfg.preproc.n_components  # type: ignore[union-attr]  # noqa: B018
    if isinstance(cfg.model, SVM):
        c: float = cfg.model.C
        kernel: Literal["rbf", "poly"] = cfg.model.kernel
        return cfg.lr * c + len(kernel)
    n: int = cfg.model.n_estimators
    if cfg.preproc is not None:
        n += cfg.preproc.n_components
    return float(n)


def sync_objective(cfg: Space) -> float:
    return cfg.lr


async def evaluation_objective(cfg: Space) -> ah.Evaluation:
    return ah.Evaluation(cfg.lr, {"seed": cfg.seed})


async def other_objective(cfg: Other) -> float:
    return cfg.x


async def returns_text(cfg: Space) -> str:
    return str(cfg)


# -- minimize --------------------------------------------------------------------------
async def check_minimize() -> None:
    result: ah.Result[Space] = await ah.minimize(objective, Space, trials=10)
    best: ah.Trial[Space] = result.best
    config: Space = best.config
    value: float | None = best.value
    del config, value

    from_sync: ah.Result[Space] = await ah.minimize(sync_objective, Space, trials=10)
    from_evaluation: ah.Result[Space] = await ah.minimize(evaluation_objective, Space, trials=10)
    del from_sync, from_evaluation

    # an objective for another space is rejected
    await ah.minimize(other_objective, Space, trials=10)  # type: ignore[arg-type]
    # the result is typed by the space: it is not a Result[Other]
    wrong: ah.Result[Other] = await ah.minimize(objective, Space, trials=10)  # type: ignore[arg-type]
    # an objective must return a float (or an Evaluation)
    await ah.minimize(returns_text, Space, trials=10)  # type: ignore[arg-type]
    # trials is keyword-only and required
    await ah.minimize(objective, Space, 10)  # type: ignore[call-arg]
    del wrong


# -- open_study ------------------------------------------------------------------------
async def check_study() -> None:
    async with ah.open_study(Space, storage=":memory:", suggester=ah.TPE()) as study:
        typed: ah.Study[Space] = study
        trial = await study.ask()
        ask_typed: ah.Trial[Space] = trial
        config: Space = (await study.ask()).config
        other: Other = trial.config  # type: ignore[assignment]
        told: ah.Trial[Space] = await study.tell(trial, 0.25)
        await study.tell(trial, error="diverged")
        everything: list[ah.Trial[Space]] = await study.trials()
        result: ah.Result[Space] = await study.optimize(objective, trials=5, concurrency=2)
        await study.optimize(other_objective, trials=5)  # type: ignore[arg-type]
        del typed, ask_typed, config, other, told, everything, result


# -- compiled spaces -------------------------------------------------------------------
def check_space() -> None:
    space: ah.Space[Space] = ah.compile_space(Space)
    wrong: ah.Space[Other] = ah.compile_space(Space)  # type: ignore[arg-type]
    params = space.sample(np.random.default_rng(0))
    config: Space = space.decode(params)
    space.encode(config)
    space.encode(Other(0.5))  # type: ignore[arg-type]
    dims: tuple[ah.Dimension, ...] = space.dimensions
    fingerprint: str = space.fingerprint
    del wrong, dims, fingerprint
