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
    python benchmarks/suggest_speed.py --sizes 1000 --count-good-changes 200
    python benchmarks/suggest_speed.py --sizes 1000 --choices 20000

``--choices C`` times a space of one categorical of ``C`` choices (a vocabulary, a
list of feature subsets) and one float instead, the loss growing with both.

``--count-good-changes ASKS`` times nothing: it counts, over ``ASKS`` asks after the
history of each size, how often the good group's membership (the best
``min(ceil(0.1 n), 25)`` trials) changes from one ask to the next and how often TPE
refits the good density (it also does when the trial just past the split changes, which
moves the good trials' weights): with random trials joining the random history, as in
the timing (``timed``); with the asked trial evaluated and joining that history
(``asked``); and in a study that TPE ran from the start (``study``).
"""

from __future__ import annotations

import argparse
import logging
import math
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


def _history(n: int, seed: int, choices: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``n`` random points and their losses: the sphere on ten floats, or with
    ``choices``, a choice index and a float (the loss grows with both)."""
    rng = np.random.default_rng(seed)
    if choices:
        points = np.column_stack([rng.integers(choices, size=n), rng.random(n)])
        return points, (points[:, 0] / choices - 0.3) ** 2 + (points[:, 1] - 0.5) ** 2
    points = rng.uniform(-5.0, 5.0, size=(n, DIMS))
    return points, np.sum(points**2, axis=1)


def _params(row: list[float], choices: int) -> dict[str, Any]:
    """A point of :func:`_history` as flat parameters."""
    if choices:
        return {"c": int(row[0]), "x": row[1]}
    return {f"x{i}": v for i, v in enumerate(row)}


def _choice_space(choices: int) -> type:
    """The space of ``--choices``: one categorical of ``choices`` choices and a float."""
    # Built at run time: the number of choices is an argument (Any: mypy does not take
    # an Annotated form as a type).
    choice: Any = Annotated[int, ah.Categorical(list(range(choices)))]
    unit: Any = Annotated[float, ah.Float(0.0, 1.0)]
    fields = {"c": attrs.field(type=choice), "x": attrs.field(type=unit)}
    return attrs.make_class("Choice", fields, frozen=True, kw_only=True)


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


def time_asynchyper(
    points: np.ndarray, losses: np.ndarray, repeats: int, choices: int = 0
) -> Timed:
    """``TPE.suggest`` (k=1), one new finished trial before each of ``repeats`` asks."""
    space: ah.Space[Any] = ah.compile_space(_choice_space(choices) if choices else Ten)
    history = ah.History(space)
    for row, loss in zip(points.tolist(), losses.tolist(), strict=True):
        history.add(_params(row, choices), loss)
    tpe = ah.TPE()
    rng = np.random.default_rng(0)
    extra_points, extra_losses = _history(repeats + 2, seed=1, choices=choices)
    extra = iter(zip(extra_points.tolist(), extra_losses.tolist(), strict=True))

    def add_one() -> None:
        row, loss = next(extra)
        history.add(_params(row, choices), loss)

    return add_one, lambda: tpe.suggest(space, history, [], rng)


def time_optuna(points: np.ndarray, losses: np.ndarray, choices: int = 0) -> Timed:
    """``study.ask()`` (in memory, default TPESampler)."""
    import optuna  # noqa: PLC0415 - peers are optional: imported only when benchmarked

    optuna.logging.set_verbosity(optuna.logging.ERROR)
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
    distributions: dict[str, Any] = {
        f"x{i}": optuna.distributions.FloatDistribution(-5.0, 5.0) for i in range(DIMS)
    }
    if choices:
        distributions = {
            "c": optuna.distributions.CategoricalDistribution(list(range(choices))),
            "x": optuna.distributions.FloatDistribution(0.0, 1.0),
        }
    study = optuna.create_study(sampler=optuna.samplers.TPESampler(seed=0))
    study.add_trials(
        [
            optuna.trial.create_trial(
                params=_params(row, choices),
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


def time_hyperopt(points: np.ndarray, losses: np.ndarray, choices: int = 0) -> Timed:
    """``hyperopt.tpe.suggest`` on a ``Trials`` object with this history."""
    import hyperopt  # noqa: PLC0415 - peers are optional: imported only when benchmarked
    from hyperopt import hp, tpe  # noqa: PLC0415

    logging.getLogger("hyperopt").setLevel(logging.ERROR)
    space: dict[str, Any] = {f"x{i}": hp.uniform(f"x{i}", -5.0, 5.0) for i in range(DIMS)}
    if choices:  # hp.choice stores the index, here equal to the choice
        space = {"c": hp.choice("c", list(range(choices))), "x": hp.uniform("x", 0.0, 1.0)}
    domain = hyperopt.Domain(lambda _: 0.0, space)
    trials = hyperopt.Trials()
    n = points.shape[0]
    tids = trials.new_trial_ids(n)
    rows = [_params(row, choices) for row in points.tolist()]
    miscs = [
        {
            "tid": tid,
            "cmd": domain.cmd,
            "workdir": None,
            "idxs": {name: [tid] for name in space},
            "vals": {name: [value] for name, value in params.items()},
        }
        for params, tid in zip(rows, tids, strict=True)
    ]
    results = [{"loss": float(loss), "status": hyperopt.STATUS_OK} for loss in losses]
    docs = trials.new_trial_docs(tids, [None] * n, results, miscs)
    for doc in docs:
        doc["state"] = hyperopt.JOB_STATE_DONE
    trials.insert_trial_docs(docs)
    trials.refresh()
    seeds = iter(range(10**9))
    return _no_op, lambda: tpe.suggest(trials.new_trial_ids(1), domain, trials, next(seeds))


def count_good_changes(points: np.ndarray, losses: np.ndarray, asks: int, setting: str) -> str:
    """How often the good group and the kept good density change over ``asks`` asks.

    Before each ask one finished trial joins. ``setting``: ``"timed"`` is the timing's
    (the history of random trials, and a random trial joins), ``"asked"`` starts from
    the same history but the trial that joins is the one the last ask proposed,
    evaluated on the sphere; ``"study"`` does that too, from a history that TPE itself
    built (a study of as many trials, seed 0).
    """
    space = ah.compile_space(Ten)
    history = ah.History(space)
    tpe = ah.TPE()
    rng = np.random.default_rng(0)
    all_losses: list[float] = []

    def add(row: list[float], loss: float) -> None:
        history.add({f"x{i}": v for i, v in enumerate(row)}, loss)
        all_losses.append(loss)

    def evaluate(params: dict[str, Any]) -> tuple[list[float], float]:
        row = [float(params[f"x{i}"]) for i in range(DIMS)]
        return row, float(np.sum(np.square(row)))

    if setting == "study":
        for _ in range(points.shape[0]):
            add(*evaluate(tpe.suggest(space, history, [], rng)[0]))
    else:
        for row, loss in zip(points.tolist(), losses.tolist(), strict=True):
            add(row, loss)
    extra_points, extra_losses = _history(asks, seed=1)
    asked = tpe.suggest(space, history, [], rng)[0]  # not counted: fits and keeps

    def best_few() -> frozenset[int]:
        n_good = min(math.ceil(tpe.gamma * len(all_losses)), tpe.gamma_cap)
        return frozenset(np.argsort(all_losses, kind="stable")[:n_good].tolist())

    members, kept = best_few(), tpe._good[0].mixture
    changed = refitted = 0
    for index in range(asks):
        if setting == "timed":
            add(extra_points[index].tolist(), float(extra_losses[index]))
        else:
            add(*evaluate(asked))
        asked = tpe.suggest(space, history, [], rng)[0]
        now = best_few()
        changed += now != members
        refitted += tpe._good[0].mixture is not kept
        members, kept = now, tpe._good[0].mixture
    return (
        f"{points.shape[0]:>7} | {setting:<7} | good group changed in {changed:>3} of {asks} "
        f"asks | good density refitted in {refitted:>3} of {asks}"
    )


def main() -> None:
    """Print the table of median times and the speed-up ratios."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 1000, 10000])
    parser.add_argument(
        "--repeats", type=int, default=25, help="timed asks of asynchyper (peers: one per round)"
    )
    parser.add_argument(
        "--count-good-changes",
        type=int,
        metavar="ASKS",
        help="count changes of the good group over ASKS asks instead of timing",
    )
    parser.add_argument(
        "--choices",
        type=int,
        default=0,
        metavar="C",
        help="time a space of one categorical of C choices and one float instead",
    )
    args = parser.parse_args()
    if args.count_good_changes:
        print(f"good group of asynchyper's TPE, {DIMS} float dimensions, sphere, nothing pending")
        for n in args.sizes:
            points, losses = _history(n, seed=n)
            for setting in ("timed", "asked", "study"):
                print(count_good_changes(points, losses, args.count_good_changes, setting))
        return
    choices = args.choices
    what = f"a categorical of {choices} choices and a float" if choices else f"{DIMS} floats"
    print(f"median ms per ask, {what}, nothing pending")
    header = (
        f"{'trials':>7} | {'asynchyper':>10} | {'optuna 5':>9} | {'hyperopt':>9} | "
        f"{'optuna/ours':>11} | {'hyperopt/ours':>13}"
    )
    print(header)
    print("-" * len(header))
    for n in args.sizes:
        points, losses = _history(n, seed=n, choices=choices)
        # Peers are slow with many trials or choices: fewer rounds, each with more of
        # our asks.
        rounds = max(3, args.repeats // (1 + n // 2000 + choices // 2000))
        per_round = -(-args.repeats // rounds)
        methods = [
            time_asynchyper(points, losses, per_round * (rounds + 1), choices),
            time_optuna(points, losses, choices),
            time_hyperopt(points, losses, choices),
        ]
        ours, optuna_ms, hyperopt_ms = _interleaved_ms(methods, [per_round, 1, 1], rounds)
        print(
            f"{n:>7} | {ours:>10.3f} | {optuna_ms:>9.2f} | {hyperopt_ms:>9.2f} | "
            f"{optuna_ms / ours:>10.1f}x | {hyperopt_ms / ours:>12.1f}x"
        )


if __name__ == "__main__":
    main()
