"""Typing tests: this file is checked by mypy (``--strict --warn-unused-ignores``)
and never run. Each ``# type: ignore[code]`` marks an error that *must* occur:
if the library's types stopped rejecting that line, the ignore would be unused
and mypy would fail.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from typing import Annotated, Any, Literal, assert_type

import attrs
import numpy as np

import asynchyper as ah
from asynchyper import JSONInput, JSONValue  # public: no private import needed


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
    optimizer: Annotated[str, ah.Categorical(["adam", "sgd"], weights=[0.7, 0.3])]
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


def sync_returns_text(cfg: Space) -> str:
    return str(cfg)


# a float or an Evaluation, decided per trial (both documented return types)
async def union_objective(cfg: Space) -> float | ah.Evaluation:
    if cfg.lr > 0.01:
        return 1.0
    return ah.Evaluation(cfg.lr, {"note": "trained"})


def sync_union_objective(cfg: Space) -> float | ah.Evaluation:
    return 1.0 if cfg.lr > 0.01 else ah.Evaluation(cfg.lr)


async def other_union_objective(cfg: Other) -> float | ah.Evaluation:
    return cfg.x


async def returns_float_or_text(cfg: Space) -> float | str:
    return cfg.lr if cfg.lr > 0.01 else "diverged"


def sync_returns_evaluation_or_none(cfg: Space) -> ah.Evaluation | None:
    return ah.Evaluation(cfg.lr) if cfg.lr > 0.01 else None


# NumPy numbers are what `np.mean(scores)` gives; they run, so they type-check.
def returns_numpy(cfg: Space) -> np.float64:
    return np.float64(cfg.lr) * 2


def returns_numpy_floating(cfg: Space) -> np.floating[Any]:
    return np.float32(cfg.lr)


# The checker cannot refuse this one (bool is a subtype of float), but every trial
# fails at run time ("objective returned bool True"): documented in getting-started.md.
async def returns_bool(cfg: Space) -> bool:
    return cfg.lr > 0.01


# -- user attributes: any JSON-shaped value, lists and dicts of any JSON type -------------
def train(cfg: Space) -> tuple[list[float], dict[str, float]]:
    return [1.0, cfg.lr], {"acc": 0.9}


async def attrs_objective(cfg: Space) -> ah.Evaluation:
    curve, metrics = train(cfg)
    trial = ah.current_trial()
    trial.set_attr("loss_curve", curve)
    trial.set_attr("metrics", metrics)
    trial.set_attr("nested", {"curves": [curve, curve], "by_name": metrics})
    trial.set_attr("frozen", (1, 2.5, "three", None, True))
    trial.set_attr("counts", {"a": 1, "b": 2})
    trial.set_attr("ids", ["x", "y"])
    trial.set_attr("scalar", 0.5)
    trial.set_attr("text", "a str is a JSON value")
    trial.set_attr("nothing", None)
    # not JSON-shaped: refused
    trial.set_attr("object", object())  # type: ignore[arg-type]
    trial.set_attr("objects", [object()])  # type: ignore[list-item]
    trial.set_attr("int keys", {1: 2.0})  # type: ignore[dict-item]
    trial.set_attr("set", {1.0, 2.0})  # type: ignore[arg-type]
    trial.set_attr(1, 2.0)  # type: ignore[arg-type]
    # what was set is given back as it was set
    assert_type(trial.user_attrs, dict[str, JSONInput])
    ah.Evaluation(curve[-1], attrs=metrics)
    ah.Evaluation(curve[-1], attrs={"curve": (0.1, 0.2)})
    ah.Evaluation(curve[-1], {"bad": object()})  # type: ignore[dict-item]
    return ah.Evaluation(curve[-1], {"metrics": metrics, "curve": curve})


# -- minimize --------------------------------------------------------------------------
async def check_minimize() -> None:
    result: ah.Result[Space] = await ah.minimize(objective, Space, trials=10)
    best: ah.Trial[Space] = result.best
    config: Space = best.config
    value: float | None = best.value
    assert_type(result.best_value, float)
    rounded: float = round(result.best_value, 3)
    del config, value, rounded

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

    # an objective may return either a float or an Evaluation, async or not
    from_union: ah.Result[Space] = await ah.minimize(union_objective, Space, trials=10)
    from_sync_union: ah.Result[Space] = await ah.minimize(sync_union_objective, Space, trials=10)
    with_attrs: ah.Result[Space] = await ah.minimize(attrs_objective, Space, trials=10)
    del from_union, from_sync_union, with_attrs
    await ah.maximize(union_objective, Space, trials=10)
    # ... but still for this space, and still a number or an Evaluation
    await ah.minimize(other_union_objective, Space, trials=10)  # type: ignore[arg-type]
    await ah.minimize(sync_returns_text, Space, trials=10)  # type: ignore[arg-type]
    await ah.minimize(returns_float_or_text, Space, trials=10)  # type: ignore[arg-type]
    await ah.minimize(sync_returns_evaluation_or_none, Space, trials=10)  # type: ignore[arg-type]
    from_numpy: ah.Result[Space] = await ah.minimize(returns_numpy, Space, trials=10)
    await ah.minimize(returns_numpy_floating, Space, trials=10)
    # the direction a result reports can be passed back in
    direction: ah.Direction = from_numpy.direction
    await ah.minimize(objective, Space, trials=10, direction=direction)
    await ah.minimize(objective, Space, trials=10, direction="minimise")  # type: ignore[arg-type]
    # accepted by the checker, refused at run time (see returns_bool)
    await ah.minimize(returns_bool, Space, trials=10)
    # a lambda's argument is the space (it was Any: a typo went unnoticed)
    await ah.minimize(lambda cfg: cfg.lr, Space, trials=10)
    await ah.minimize(lambda cfg: cfg.lrr, Space, trials=10)  # type: ignore[attr-defined]
    await ah.minimize(lambda cfg: str(cfg.lr), Space, trials=10)  # type: ignore[arg-type,return-value]

    # what the library gives back stays precise: lists and dicts, not Sequence/Mapping
    stored = result.best.user_attrs
    assert_type(stored, Mapping[str, JSONValue])
    curve = stored.get("loss_curve")
    if isinstance(curve, list):
        curve.append(0.0)  # a list[JSONValue], not a read-only Sequence


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
        # attrs= takes any JSON-shaped mapping, e.g. a dict[str, float] or list values
        metrics: dict[str, float] = {"acc": 0.9}
        curves: dict[str, list[float]] = {"loss": [1.0, 0.5]}
        read_only: Mapping[str, tuple[int, ...]] = {"epochs": (1, 2)}
        await study.tell(trial, 0.25, attrs=metrics)
        await study.tell(trial, 0.25, attrs=curves)
        await study.tell(trial, error="diverged", attrs=read_only)
        await study.tell(trial, 0.25, attrs={"bad": object()})  # type: ignore[dict-item]
        await study.optimize(union_objective, trials=5)
        await study.optimize(sync_union_objective, trials=5)
        await study.optimize(other_union_objective, trials=5)  # type: ignore[arg-type]
        await study.optimize(returns_float_or_text, trials=5)  # type: ignore[arg-type]
        records: list[dict[str, JSONValue]] = await study.records()
        assert_type(told.user_attrs, Mapping[str, JSONValue])
        del records
        everything: list[ah.Trial[Space]] = await study.trials()
        queued: ah.Trial[Space] = await study.enqueue({"model": "SVM", "model:SVM.C": 1.0})
        await study.enqueue(
            Space(
                lr=1e-3,
                model=SVM(C=1.0, kernel="rbf"),
                preproc=None,
                activation=Activation.RELU,
                optimizer="adam",
            )
        )
        await study.enqueue(Other(0.5))  # type: ignore[arg-type]
        del queued
        known: ah.Trial[Space] = await study.add(everything[0].config, 0.25, attrs=metrics)
        assert_type(await study.add({"lr": 1e-3}, error="diverged"), ah.Trial[Space])
        assert_type(await study.add(known.config, 0.25, skip_if_exists=True), ah.Trial[Space])
        await study.add(Other(0.5), 0.25)  # type: ignore[arg-type]
        await study.add(known.config, "0.25")  # type: ignore[arg-type]
        result: ah.Result[Space] = await study.optimize(objective, trials=5, concurrency=2)
        await study.optimize(other_objective, trials=5)  # type: ignore[arg-type]
        await study.optimize(lambda cfg: cfg.lr, trials=5)
        await study.optimize(lambda cfg: cfg.lrr, trials=5)  # type: ignore[attr-defined]
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
