"""Sampling speed of a compiled space, with Hyperopt and Optuna as peers.

The space has 50 dimensions (branch choices included) and 3 levels of
conditional nesting (``Space.model[A].sub[A1].deep[D1]``). The peers get the
same space, translated from ``Space.dimensions``: Hyperopt as nested
``hp.choice`` expressions, Optuna as define-by-run ``suggest_*`` calls.

Run: ``python benchmarks/sampling.py``. Prints times and ratios; asserts nothing.
"""

from __future__ import annotations

import enum
import math
import time
from collections.abc import Callable
from typing import Annotated, Any, Literal

import attrs
import numpy as np

import asynchyper as ah

N = 10_000
N_PEER = 1_000  # the peers are much slower; their per-config time is scaled up to N

Unit = Annotated[float, ah.Float(0.0, 1.0)]
Rate = Annotated[float, ah.Float(1e-5, 1.0, log=True)]
Frac = Annotated[float, ah.Float(0.0, 0.5, step=0.05)]
Count = Annotated[int, ah.Int(1, 100)]
Size = Annotated[int, ah.Int(8, 4096, log=True)]
Even = Annotated[int, ah.Int(0, 64, step=4)]


class Act(enum.Enum):
    RELU = 1
    GELU = 2
    TANH = 3


@attrs.frozen
class D1:
    a: Unit
    b: Rate
    c: Count
    d: bool


@attrs.frozen
class D2:
    a: Frac
    b: Size
    c: Act
    d: Literal["x", "y", "z"]


@attrs.frozen
class A1:
    a: Unit
    b: Rate
    c: Even
    d: bool
    deep: D1 | D2


@attrs.frozen
class A2:
    a: Unit
    b: Rate
    c: Frac
    d: Count
    e: Size


@attrs.frozen
class A:
    a: Unit
    b: Rate
    c: Frac
    d: Count
    e: Size
    f: Act
    sub: A1 | A2


@attrs.frozen
class Opt:
    a: Unit
    b: Rate
    c: Even
    d: Literal["p", "q"]
    e: bool


@attrs.frozen
class B:
    a: Unit
    b: Rate
    c: Frac
    d: Count
    e: Size
    f: bool
    opt: Opt | None


@attrs.frozen
class Space:
    x0: Unit
    x1: Unit
    x2: Rate
    x3: Rate
    x4: Frac
    x5: Frac
    x6: Count
    x7: Count
    x8: Size
    x9: Even
    x10: Act
    x11: bool
    model: A | B


def _timed(fn: Callable[[], Any]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def _best_of(fn: Callable[[], Any], repeat: int = 3) -> float:
    return min(_timed(fn) for _ in range(repeat))


def _hyperopt_space(space: ah.Space[Any]) -> Any:
    from hyperopt import hp  # noqa: PLC0415 - optional peer

    def children(parent: str | None, choice: object) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for dim in space.dimensions:
            if dim.parent != parent or dim.parent_choice != choice:
                continue
            name = dim.name
            if dim.is_branch:
                out[name] = hp.choice(name, [children(name, c) | {name: c} for c in dim.choices])
            elif dim.kind is ah.DimensionKind.CATEGORICAL:
                out[name] = hp.choice(name, list(dim.choices))
            else:
                assert dim.low is not None
                assert dim.high is not None
                is_int = dim.kind is ah.DimensionKind.INT
                if dim.log:
                    low, high = math.log(dim.low), math.log(dim.high)
                    out[name] = (
                        hp.qloguniform(name, low, high, 1)
                        if is_int
                        else hp.loguniform(name, low, high)
                    )
                elif is_int or dim.step is not None:
                    out[name] = hp.quniform(name, dim.low, dim.high, dim.step)
                else:
                    out[name] = hp.uniform(name, dim.low, dim.high)
        return out

    return children(None, None)


def _optuna_sample(space: ah.Space[Any], trial: Any) -> dict[str, Any]:
    params: dict[str, Any] = {}
    for dim in space.dimensions:
        if dim.parent is not None and params.get(dim.parent) != dim.parent_choice:
            continue
        name = dim.name
        if dim.kind is ah.DimensionKind.CATEGORICAL:
            params[name] = trial.suggest_categorical(name, list(dim.choices))
        elif dim.kind is ah.DimensionKind.INT:
            params[name] = trial.suggest_int(
                name, int(dim.low or 0), int(dim.high or 0), log=dim.log, step=int(dim.step or 1)
            )
        else:
            params[name] = trial.suggest_float(
                name, dim.low or 0.0, dim.high or 0.0, log=dim.log, step=dim.step
            )
    return params


def main() -> None:
    """Run the benchmark and print its numbers."""
    compile_time = _timed(lambda: ah.compile_space(Space))
    space = ah.compile_space(Space)
    depth = max(d.name.count(":") for d in space.dimensions)
    print(f"space: {len(space.dimensions)} dimensions, {depth} levels of conditional nesting")
    print(f"compile (first call):                 {compile_time * 1e3:8.2f} ms")

    rng = np.random.default_rng(0)
    t_vectors = _best_of(lambda: space.sample_vectors(rng, N))
    matrix = space.sample_vectors(rng, N)
    t_from_matrix = _best_of(lambda: space.from_matrix(matrix))
    t_from_vector = _best_of(lambda: [space.from_vector(row) for row in matrix], repeat=1)
    rows = space.from_matrix(matrix)
    t_decode = _best_of(lambda: [space.decode(p) for p in rows], repeat=1)
    t_sample = _best_of(lambda: [space.sample(rng) for _ in range(N)], repeat=1)
    t_sample_decode = t_sample + t_decode

    print(f"\n{N:,} configurations:")
    print(f"  sample_vectors(rng, {N})             {t_vectors * 1e3:8.2f} ms")
    print(f"  + from_matrix (vectorised)            {t_from_matrix * 1e3:8.2f} ms")
    print(f"  = sample_vectors + from_matrix        {(t_vectors + t_from_matrix) * 1e3:8.2f} ms")
    print(f"  sample_vectors + {N} x from_vector   {(t_vectors + t_from_vector) * 1e3:8.2f} ms")
    print(f"  {N} x sample()                       {t_sample * 1e3:8.2f} ms")
    print(f"  {N} x decode()                       {t_decode * 1e3:8.2f} ms")
    print(f"  {N} x (sample() + decode())          {t_sample_decode * 1e3:8.2f} ms")

    peers: dict[str, float] = {}
    try:
        from hyperopt.pyll import stochastic  # noqa: PLC0415 - optional peer

        expr = _hyperopt_space(space)
        hp_rng = np.random.default_rng(0)
        t = _timed(lambda: [stochastic.sample(expr, rng=hp_rng) for _ in range(N_PEER)])
        peers["hyperopt pyll.stochastic.sample"] = t * N / N_PEER
    except ImportError:
        print("hyperopt not installed: skipped")
    try:
        import optuna  # noqa: PLC0415 - optional peer

        optuna.logging.set_verbosity(optuna.logging.WARNING)
        study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
        t = _timed(lambda: [_optuna_sample(space, study.ask()) for _ in range(N_PEER)])
        peers["optuna RandomSampler ask+suggest"] = t * N / N_PEER
    except ImportError:
        print("optuna not installed: skipped")

    if peers:
        print(f"\npeers (measured on {N_PEER:,}, scaled to {N:,}); ratio = peer / asynchyper:")
        for name, t in peers.items():
            print(
                f"  {name:34s} {t * 1e3:9.1f} ms   "
                f"x{t / (t_vectors + t_from_matrix):7.1f} vs vectorised, "
                f"x{t / t_sample_decode:6.1f} vs sample()+decode()"
            )


if __name__ == "__main__":
    main()
