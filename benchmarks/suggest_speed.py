"""Time per ask of asynchyper's TPE against Optuna 5 and hyperopt, in the same run.

Space: 10 float dimensions on [-5, 5]; history: N finished trials of the sphere
function drawn at random; each method is timed on the same history, with nothing
pending. asynchyper's TPE keeps work from one ask to the next (sorted columns, kernel
terms of finished trials, the good density while its trials are the same), so it is
timed as in a running study: before each timed ask one more finished trial joins the
history (untimed), which invalidates part of that work. It calls ``TPE.suggest``
directly (the suggester is sans-IO); Optuna times ``study.ask()`` on an in-memory
study whose sampler samples the whole space jointly (its default ``multivariate=True``
TPESampler); hyperopt times ``tpe.suggest`` on a ``Trials`` object. The methods take
turns (a few of our asks, one of each peer's, again and again), so that a machine whose
speed drifts during the run does not bias the ratios. Run::

    python benchmarks/suggest_speed.py                # 100, 1000, 10000 trials
    python benchmarks/suggest_speed.py --sizes 100 1000 --repeats 30
"""

from __future__ import annotations

import argparse
import logging
import statistics
import time
import warnings
from collections.abc import Callable
from typing import Annotated, Any

import attrs
import numpy as np

import asynchyper as ah

DIMS = 10


@attrs.frozen(kw_only=True)
class Ten:
    x0: Annotated[float, ah.Float(-5.0, 5.0)]
    x1: Annotated[float, ah.Float(-5.0, 5.0)]
    x2: Annotated[float, ah.Float(-5.0, 5.0)]
    x3: Annotated[float, ah.Float(-5.0, 5.0)]
    x4: Annotated[float, ah.Float(-5.0, 5.0)]
    x5: Annotated[float, ah.Float(-5.0, 5.0)]
    x6: Annotated[float, ah.Float(-5.0, 5.0)]
    x7: Annotated[float, ah.Float(-5.0, 5.0)]
    x8: Annotated[float, ah.Float(-5.0, 5.0)]
    x9: Annotated[float, ah.Float(-5.0, 5.0)]


def _history(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    points = rng.uniform(-5.0, 5.0, size=(n, DIMS))
    return points, np.sum(points**2, axis=1)


#: A method to time: ``before`` runs untimed ahead of each timed ``call``.
Timed = tuple[Callable[[], object], Callable[[], object]]


def _no_op() -> None:
    pass


def _interleaved_ms(methods: list[Timed], asks: list[int], rounds: int) -> list[float]:
    """Median milliseconds per call of each method, timed in turns.

    Each round times ``asks[i]`` calls of method ``i``, one method after the other, so
    a machine that slows down for a while (other load, frequency scaling) slows every
    method alike instead of the one that happened to run then; a first, untimed round
    warms up.
    """
    times: list[list[float]] = [[] for _ in methods]
    for round_number in range(rounds + 1):
        for (before, call), count, spent in zip(methods, asks, times, strict=True):
            for _ in range(count):
                before()
                start = time.perf_counter()
                call()
                if round_number:
                    spent.append(time.perf_counter() - start)
    return [1000 * statistics.median(spent) for spent in times]


def time_asynchyper(points: np.ndarray, losses: np.ndarray, repeats: int) -> Timed:
    """``TPE.suggest`` (k=1), one new finished trial before each of ``repeats`` asks."""
    space = ah.compile_space(Ten)
    history = ah.History(space)
    for row, loss in zip(points.tolist(), losses.tolist(), strict=True):
        history.add({f"x{i}": v for i, v in enumerate(row)}, loss)
    tpe = ah.TPE()
    rng = np.random.default_rng(0)
    extra_points, extra_losses = _history(repeats + 2, seed=1)
    extra = iter(zip(extra_points.tolist(), extra_losses.tolist(), strict=True))

    def add_one() -> None:
        row, loss = next(extra)
        history.add({f"x{i}": v for i, v in enumerate(row)}, loss)

    return add_one, lambda: tpe.suggest(space, history, [], rng)


def time_optuna(points: np.ndarray, losses: np.ndarray) -> Timed:
    """``study.ask()`` (in memory, default TPESampler)."""
    import optuna  # noqa: PLC0415 - peers are optional: imported only when benchmarked

    optuna.logging.set_verbosity(optuna.logging.ERROR)
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
    distributions: dict[str, Any] = {
        f"x{i}": optuna.distributions.FloatDistribution(-5.0, 5.0) for i in range(DIMS)
    }
    study = optuna.create_study(sampler=optuna.samplers.TPESampler(seed=0))
    study.add_trials(
        [
            optuna.trial.create_trial(
                params={f"x{i}": v for i, v in enumerate(row)},
                distributions=distributions,
                value=loss,
            )
            for row, loss in zip(points.tolist(), losses.tolist(), strict=True)
        ]
    )

    def ask() -> None:
        trial = study.ask(distributions)
        # Failed trials are ignored by TPE, so the timed history stays the same.
        study.tell(trial, state=optuna.trial.TrialState.FAIL)

    return _no_op, ask


def time_hyperopt(points: np.ndarray, losses: np.ndarray) -> Timed:
    """``hyperopt.tpe.suggest`` on a ``Trials`` object with this history."""
    import hyperopt  # noqa: PLC0415 - peers are optional: imported only when benchmarked
    from hyperopt import hp, tpe  # noqa: PLC0415

    logging.getLogger("hyperopt").setLevel(logging.ERROR)
    space = {f"x{i}": hp.uniform(f"x{i}", -5.0, 5.0) for i in range(DIMS)}
    domain = hyperopt.Domain(lambda _: 0.0, space)
    trials = hyperopt.Trials()
    n = points.shape[0]
    tids = trials.new_trial_ids(n)
    miscs = [
        {
            "tid": tid,
            "cmd": domain.cmd,
            "workdir": None,
            "idxs": {f"x{i}": [tid] for i in range(DIMS)},
            "vals": {f"x{i}": [float(points[row, i])] for i in range(DIMS)},
        }
        for row, tid in enumerate(tids)
    ]
    results = [{"loss": float(loss), "status": hyperopt.STATUS_OK} for loss in losses]
    docs = trials.new_trial_docs(tids, [None] * n, results, miscs)
    for doc in docs:
        doc["state"] = hyperopt.JOB_STATE_DONE
    trials.insert_trial_docs(docs)
    trials.refresh()
    seeds = iter(range(10**9))
    return _no_op, lambda: tpe.suggest(trials.new_trial_ids(1), domain, trials, next(seeds))


def main() -> None:
    """Print the table of median times and the speed-up ratios."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 1000, 10000])
    parser.add_argument(
        "--repeats", type=int, default=25, help="timed asks of asynchyper (peers: one per round)"
    )
    args = parser.parse_args()
    print(f"median ms per ask, {DIMS} float dimensions, nothing pending")
    header = (
        f"{'trials':>7} | {'asynchyper':>10} | {'optuna 5':>9} | {'hyperopt':>9} | "
        f"{'optuna/ours':>11} | {'hyperopt/ours':>13}"
    )
    print(header)
    print("-" * len(header))
    for n in args.sizes:
        points, losses = _history(n, seed=n)
        # Peers are slow with many trials: fewer rounds, each with more of our asks.
        rounds = max(3, args.repeats // (1 + n // 2000))
        per_round = -(-args.repeats // rounds)
        methods = [
            time_asynchyper(points, losses, per_round * (rounds + 1)),
            time_optuna(points, losses),
            time_hyperopt(points, losses),
        ]
        ours, optuna_ms, hyperopt_ms = _interleaved_ms(methods, [per_round, 1, 1], rounds)
        print(
            f"{n:>7} | {ours:>10.3f} | {optuna_ms:>9.2f} | {hyperopt_ms:>9.2f} | "
            f"{optuna_ms / ours:>10.1f}x | {hyperopt_ms / ours:>12.1f}x"
        )


if __name__ == "__main__":
    main()
