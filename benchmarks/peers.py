"""Ask/tell runners for asynchyper, Optuna 5 and hyperopt over one compiled space.

Each runner proposes flat asynchyper parameters (``ask``) and takes a loss back
(``tell``), with any number of trials outstanding; the peers get the space translated
from ``Space.dimensions`` and their proposals are mapped back through
``Space.from_vector`` (so hyperopt's ``quniform`` cannot leave the bounds).
"""

from __future__ import annotations

import logging
import math
import warnings
from typing import Any, Protocol

import numpy as np

import asynchyper as ah
from asynchyper._types import JSONScalar

Params = dict[str, JSONScalar]


class Runner(Protocol):
    """One optimiser driven by ask/tell."""

    def ask(self) -> tuple[object, Params]:
        """A handle for the new trial and its flat parameters."""
        ...

    def tell(self, handle: object, loss: float) -> None:
        """Report the loss of the trial ``handle``."""
        ...


class AsynchyperRunner:
    """An asynchyper suggester fed with a ``History`` and the pending list directly."""

    def __init__(self, space: ah.Space[Any], suggester: ah.Suggester, seed: int) -> None:
        self.space = space
        self.suggester = suggester
        self.rng = np.random.default_rng(seed)
        self.history = ah.History(space)
        self.pending: dict[int, Params] = {}
        self._next = 0

    def ask(self) -> tuple[object, Params]:
        params = self.suggester.suggest(
            self.space, self.history, list(self.pending.values()), self.rng
        )[0]
        handle = self._next
        self._next += 1
        self.pending[handle] = params
        return handle, params

    def tell(self, handle: object, loss: float) -> None:
        assert isinstance(handle, int)
        self.history.add(self.pending.pop(handle), loss)


def _define_optuna(space: ah.Space[Any], trial: Any) -> Params:
    params: Params = {}
    for dim in space.dimensions:
        if dim.parent is not None and params.get(dim.parent) != dim.parent_choice:
            continue
        if dim.kind is ah.DimensionKind.CATEGORICAL:
            params[dim.name] = trial.suggest_categorical(dim.name, list(dim.choices))
        elif dim.kind is ah.DimensionKind.INT:
            assert dim.low is not None
            assert dim.high is not None
            params[dim.name] = trial.suggest_int(
                dim.name, int(dim.low), int(dim.high), step=int(dim.step or 1), log=dim.log
            )
        else:
            assert dim.low is not None
            assert dim.high is not None
            params[dim.name] = trial.suggest_float(
                dim.name, dim.low, dim.high, step=dim.step, log=dim.log
            )
    return params


class OptunaRunner:
    """Optuna 5's ``TPESampler`` (its defaults) on an in-memory study."""

    def __init__(self, space: ah.Space[Any], seed: int, *, group: bool = False) -> None:
        import optuna  # noqa: PLC0415 - peers are optional: imported only when benchmarked

        optuna.logging.set_verbosity(optuna.logging.ERROR)
        warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
        options: dict[str, Any] = {"seed": seed}
        if group:
            options.update(group=True, multivariate=True)
        self.space = space
        self.study = optuna.create_study(sampler=optuna.samplers.TPESampler(**options))

    def ask(self) -> tuple[object, Params]:
        trial = self.study.ask()
        return trial, _define_optuna(self.space, trial)

    def tell(self, handle: object, loss: float) -> None:
        self.study.tell(handle, loss)  # type: ignore[arg-type]


def _hyperopt_space(space: ah.Space[Any]) -> dict[str, Any]:
    from hyperopt import hp  # noqa: PLC0415

    children: dict[tuple[str | None, object], list[ah.Dimension]] = {}
    for dim in space.dimensions:
        children.setdefault((dim.parent, _key(dim.parent_choice)), []).append(dim)

    def build(parent: str | None, choice: object) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for dim in children.get((parent, _key(choice)), []):
            name = dim.name
            if dim.kind is ah.DimensionKind.CATEGORICAL:
                if any((name, _key(c)) in children for c in dim.choices):
                    options: list[Any] = [
                        {name: i, **build(name, c)} for i, c in enumerate(dim.choices)
                    ]
                else:
                    options = list(range(len(dim.choices)))
                if dim.weights:  # hyperopt's pchoice
                    out[name] = hp.pchoice(name, list(zip(dim.weights, options, strict=True)))
                else:
                    out[name] = hp.choice(name, options)
                continue
            assert dim.low is not None
            assert dim.high is not None
            low, high = dim.low, dim.high
            step = dim.step if dim.kind is ah.DimensionKind.FLOAT else (dim.step or 1)
            if dim.mu is not None and dim.sigma is not None:
                # hyperopt's own Gaussian priors, unbounded (from_vector clips their draws).
                out[name] = _hyperopt_normal(name, dim.mu, dim.sigma, step, log=dim.log)
            elif dim.log and step:
                out[name] = hp.qloguniform(name, math.log(low), math.log(high), step)
            elif dim.log:
                out[name] = hp.loguniform(name, math.log(low), math.log(high))
            elif step:
                out[name] = hp.quniform(name, low, high, step)
            else:
                out[name] = hp.uniform(name, low, high)
        return out

    return build(None, None)


def _hyperopt_normal(name: str, mu: float, sigma: float, step: float | None, *, log: bool) -> Any:
    from hyperopt import hp  # noqa: PLC0415

    if step:
        return (hp.qlognormal if log else hp.qnormal)(name, mu, sigma, step)
    return (hp.lognormal if log else hp.normal)(name, mu, sigma)


def _key(choice: object) -> object:
    return (type(choice).__name__, choice)


class HyperoptRunner:
    """hyperopt's ``tpe.suggest`` on a ``Trials`` object that holds the pending trials.

    A pending trial is a trial document in state ``JOB_STATE_NEW`` without a loss;
    ``tpe.suggest`` counts it with loss ``+inf`` (hyperopt's implicit constant liar).
    """

    def __init__(self, space: ah.Space[Any], seed: int, options: dict[str, Any]) -> None:
        import hyperopt  # noqa: PLC0415

        logging.getLogger("hyperopt").setLevel(logging.ERROR)
        self.hyperopt = hyperopt
        self.space = space
        self.domain = hyperopt.Domain(lambda _: 0.0, _hyperopt_space(space))
        self.trials = hyperopt.Trials()
        self.rng = np.random.default_rng(seed)
        self.options = options
        self.docs: dict[int, dict[str, Any]] = {}

    def ask(self) -> tuple[object, Params]:
        from hyperopt import tpe  # noqa: PLC0415

        ids = self.trials.new_trial_ids(1)
        seed = int(self.rng.integers(2**31 - 1))
        docs = tpe.suggest(ids, self.domain, self.trials, seed, **self.options)
        self.trials.insert_trial_docs(docs)
        self.trials.refresh()
        doc = self.trials._dynamic_trials[-1]
        vector = np.full(len(self.space.dimensions), np.nan)
        for label, values in doc["misc"]["vals"].items():
            if values:
                vector[self.space.index(label)] = float(values[0])
        params = self.space.from_vector(vector)
        self.docs[doc["tid"]] = doc
        return doc["tid"], params

    def tell(self, handle: object, loss: float) -> None:
        assert isinstance(handle, int)
        doc = self.docs.pop(handle)
        doc["state"] = self.hyperopt.JOB_STATE_DONE
        doc["result"] = {"loss": loss, "status": self.hyperopt.STATUS_OK}
        self.trials.refresh()


def make_runner(
    method: str,
    space: ah.Space[Any],
    seed: int,
    *,
    hyperopt_options: dict[str, Any] | None = None,
    tpe_options: dict[str, Any] | None = None,
) -> Runner:
    """Build the runner called ``method``.

    ``asynchyper``, ``optuna``, ``optuna_group``, ``hyperopt`` (with the per-domain
    options hyperopt's own tests use), ``hyperopt_defaults``, ``random``, or
    ``asynchyper[...]`` with ``tpe_options``.
    """
    if method.startswith("asynchyper"):
        return AsynchyperRunner(space, ah.TPE(**(tpe_options or {})), seed)
    if method == "random":
        return AsynchyperRunner(space, ah.Random(), seed)
    if method == "optuna":
        return OptunaRunner(space, seed)
    if method == "optuna_group":
        return OptunaRunner(space, seed, group=True)
    if method == "hyperopt":
        return HyperoptRunner(space, seed, hyperopt_options or {})
    if method == "hyperopt_defaults":
        return HyperoptRunner(space, seed, {})
    msg = f"unknown method {method!r}"
    raise ValueError(msg)
