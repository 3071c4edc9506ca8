"""Tuned-pipeline quality and wall time: asynchyper.sklearn against hyperopt-sklearn.

Run::

    python benchmarks/sklearn_bench.py [--quick] [--trials N] [--seeds K]
        [--datasets digits breast_cancer wine diabetes] [--concurrency C]
        [--trial-timeout S]

On each dataset (all ship with scikit-learn) and seed, the data is split 75/25
(stratified for classification); each library searches its default space of
pre-processing + models on the training part with the same budget of ``--trials``
evaluations, 3-fold cross-validation and the same per-trial timeout, refits its best
pipeline, and is scored on the held-out part (accuracy, or R² for diabetes).

* asynchyper: ``AutoClassifier``/``AutoRegressor`` with the default
  ``ClassifierPipeline``/``RegressorPipeline`` space and TPE, ``concurrency`` trials
  at once in worker processes (models single-threaded); its portfolio of default
  pipelines is evaluated first (``--no-portfolio`` turns it off, as an ablation).
* hyperopt-sklearn: ``HyperoptEstimator`` with ``any_classifier``/``any_regressor`` and
  ``any_preprocessing``, ``tpe.suggest``, one trial at a time, its models given
  ``n_jobs=concurrency`` (its only use of several cores), seeded through
  ``HYPEROPT_FMIN_SEED``.

Wall time covers the whole ``fit`` (search + refit). hyperopt-sklearn lets an
exception in one model end its whole search (e.g. ``loss='exponential'`` gradient
boosting on a multi-class target); such a search is counted as a crash and retried
with another seed (``--hpsklearn-attempts``), and the time and score of the first
search that finished are reported. Numbers are printed, never asserted.

hyperopt-sklearn 1.1.1 pins old versions of its dependencies (scikit-learn <= 1.7,
hyperopt 0.2.7, numpy <= 2.3, scipy <= 1.15.3) and needs setuptools < 81 (for
``pkg_resources``); hyperopt 0.2.7's TPE fails on numpy 2 once it leaves its random
start (``np.bincount(minlength=None)``), so install hyperopt 0.3 over the pin. Run
this script from an environment where it imports; without it, only asynchyper is measured.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import logging
import os
import platform
import statistics
import time
import warnings
from collections.abc import Callable, Iterator
from typing import Any

import attrs
import numpy as np
import numpy.typing as npt
import sklearn
from sklearn import datasets
from sklearn.model_selection import train_test_split

import asynchyper.sklearn as ahs

Array = npt.NDArray[Any]
LOADERS: dict[str, tuple[Callable[..., Any], str]] = {
    "digits": (datasets.load_digits, "classifier"),
    "breast_cancer": (datasets.load_breast_cancer, "classifier"),
    "wine": (datasets.load_wine, "classifier"),
    "diabetes": (datasets.load_diabetes, "regressor"),
}


@attrs.frozen
class Run:
    """One library's search on one dataset and seed."""

    library: str
    dataset: str
    seed: int
    score: float | None
    seconds: float
    best: str
    note: str = ""
    crashes: int = 0


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """Silence progress bars, warnings and chatty loggers during a fit."""
    sink = io.StringIO()
    with (
        contextlib.redirect_stderr(sink),
        contextlib.redirect_stdout(sink),
        warnings.catch_warnings(),
    ):
        warnings.simplefilter("ignore")
        yield


def _split(name: str, seed: int) -> tuple[Array, Array, Array, Array, str]:
    loader, task = LOADERS[name]
    X, y = loader(return_X_y=True)
    stratify = y if task == "classifier" else None
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.25, random_state=seed, stratify=stratify
    )
    return X_train, X_test, y_train, y_test, task


def run_asynchyper(name: str, seed: int, args: argparse.Namespace) -> Run:
    """Search, refit and score with asynchyper.sklearn."""
    X_train, X_test, y_train, y_test, task = _split(name, seed)
    options: dict[str, Any] = {
        "trials": args.trials,
        "cv": 3,
        "concurrency": args.concurrency,
        "executor": "process",
        "trial_timeout": args.trial_timeout,
        "seed": seed,
        "portfolio": not args.no_portfolio,
    }
    model: Any = (
        ahs.AutoClassifier(**options) if task == "classifier" else ahs.AutoRegressor(**options)
    )
    started = time.perf_counter()
    try:
        with _quiet():
            model.fit(X_train, y_train)
    except Exception as exc:
        return Run("asynchyper", name, seed, None, time.perf_counter() - started, "-", repr(exc))
    seconds = time.perf_counter() - started
    config = model.best_config_
    step = type(config.preprocessing).__name__ if config.preprocessing else "none"
    best = f"{step} + {type(config.model).__name__}"
    failed = sum(1 for t in model.result_.trials if t.state.value == "failed")
    note = f"{model.n_completed_} done, {failed} failed"
    return Run("asynchyper", name, seed, float(model.score(X_test, y_test)), seconds, best, note)


def run_hpsklearn(name: str, seed: int, args: argparse.Namespace) -> Run:
    """Search, refit and score with hyperopt-sklearn's HyperoptEstimator."""
    import hpsklearn  # noqa: PLC0415 - optional peer, imported only when measured
    from hyperopt import tpe  # noqa: PLC0415

    X_train, X_test, y_train, y_test, task = _split(name, seed)
    space: dict[str, Any] = (
        {"classifier": hpsklearn.any_classifier("clf")}
        if task == "classifier"
        else {"regressor": hpsklearn.any_regressor("reg")}
    )
    crashes: list[str] = []
    for attempt in range(args.hpsklearn_attempts):
        model = hpsklearn.HyperoptEstimator(
            preprocessing=hpsklearn.any_preprocessing("pre"),
            algo=tpe.suggest,
            max_evals=args.trials,
            trial_timeout=args.trial_timeout,
            seed=seed,
            n_jobs=args.concurrency,
            **space,
        )
        # Its fmin call ignores `seed`; a crashed search is retried with another seed.
        os.environ["HYPEROPT_FMIN_SEED"] = str(seed + 1000 * attempt)
        started = time.perf_counter()
        try:
            with _quiet():
                model.fit(
                    X_train,
                    y_train,
                    n_folds=3,
                    cv_shuffle=True,
                    random_state=np.random.default_rng(seed + 1000 * attempt),
                )
                score = float(model.score(X_test, y_test))
        except Exception as exc:
            crashes.append(
                f"{type(exc).__name__} after {time.perf_counter() - started:.1f} s: {str(exc)[:80]}"
            )
            continue
        finally:
            os.environ.pop("HYPEROPT_FMIN_SEED", None)
        seconds = time.perf_counter() - started
        break
    else:
        return Run("hpsklearn", name, seed, None, 0.0, "-", "; ".join(crashes), len(crashes))
    best_model = model.best_model()
    steps = best_model.get("preprocs") or ()
    step = type(steps[0]).__name__ if steps else "none"
    best = f"{step} + {type(best_model['learner']).__name__}"
    failed = sum(1 for r in model.trials.results if r.get("status") != "ok")
    note = f"{failed} failed/timed out"
    if crashes:
        note += f"; after {len(crashes)} crashed search(es): {crashes[0]}"
    return Run("hpsklearn", name, seed, score, seconds, best, note, len(crashes))


def _median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def _summary(runs: list[Run], datasets_: list[str], libraries: list[str]) -> None:
    print("\n## Held-out score (accuracy; R² for diabetes) and wall time per fit")
    header = (
        f"| {'dataset':<14}| {'library':<11}| {'median':>7} | {'mean':>7} | {'min':>7} "
        f"| {'fails':>5} | {'crashes':>7} | {'median s':>8} |"
    )
    print(header)
    print("|" + "|".join("-" * (len(c)) for c in header.split("|")[1:-1]) + "|")
    for name in datasets_:
        for library in libraries:
            mine = [r for r in runs if r.dataset == name and r.library == library]
            scores = [r.score for r in mine if r.score is not None]
            fails = len(mine) - len(scores)
            print(
                f"| {name:<14}| {library:<11}| {_median(scores):7.4f} | "
                f"{(statistics.fmean(scores) if scores else float('nan')):7.4f} | "
                f"{(min(scores) if scores else float('nan')):7.4f} | {fails:>5} | "
                f"{sum(r.crashes for r in mine):>7} | "
                f"{_median([r.seconds for r in mine if r.score is not None]):8.1f} |"
            )
    if len(libraries) < 2:
        return
    print("\n## Per-dataset comparison (asynchyper vs hyperopt-sklearn, same seeds)")
    for name in datasets_:
        ours = {r.seed: r for r in runs if r.dataset == name and r.library == "asynchyper"}
        theirs = {r.seed: r for r in runs if r.dataset == name and r.library == "hpsklearn"}
        wins = ties = losses = 0
        for seed, run in ours.items():
            peer = theirs.get(seed)
            if peer is None or run.score is None or peer.score is None:
                continue
            if abs(run.score - peer.score) < 1e-9:
                ties += 1
            elif run.score > peer.score:
                wins += 1
            else:
                losses += 1
        ours_scores = [r.score for r in ours.values() if r.score is not None]
        theirs_scores = [r.score for r in theirs.values() if r.score is not None]
        delta = _median(ours_scores) - _median(theirs_scores)
        speed = _median([r.seconds for r in theirs.values() if r.score is not None]) / _median(
            [r.seconds for r in ours.values() if r.score is not None]
        )
        verdict = "better" if delta > 0 else ("equal" if delta == 0 else "worse")
        print(
            f"- {name}: asynchyper {verdict} by {delta:+.4f} (median), per-seed "
            f"wins/ties/losses {wins}/{ties}/{losses}; hyperopt-sklearn takes {speed:.2f}x "
            "the wall time"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trials", type=int, default=30, help="evaluations per search")
    parser.add_argument("--seeds", type=int, default=3, help="seeds (splits) per dataset")
    parser.add_argument("--first-seed", type=int, default=0, help="the first seed")
    parser.add_argument("--datasets", nargs="+", choices=sorted(LOADERS), default=list(LOADERS))
    parser.add_argument("--concurrency", type=int, default=2, help="cores given to each library")
    parser.add_argument("--trial-timeout", type=float, default=60.0, help="seconds per trial")
    parser.add_argument(
        "--hpsklearn-attempts",
        type=int,
        default=3,
        help="hyperopt-sklearn lets a model's exception end its whole search; retry a "
        "crashed search this many times in all (with another seed), counting the crashes",
    )
    parser.add_argument(
        "--no-portfolio",
        action="store_true",
        help="asynchyper without its portfolio of default pipelines (an ablation)",
    )
    parser.add_argument("--quick", action="store_true", help="8 trials, 1 seed, 2 datasets")
    parser.add_argument("--no-hpsklearn", action="store_true", help="measure asynchyper only")
    args = parser.parse_args()
    if args.quick:
        args.trials, args.seeds = 8, 1
        args.datasets = ["wine", "diabetes"]
    logging.getLogger("hyperopt").setLevel(logging.ERROR)
    logging.getLogger("hpsklearn").setLevel(logging.ERROR)

    libraries = ["asynchyper"]
    runners: dict[str, Callable[[str, int, argparse.Namespace], Run]] = {
        "asynchyper": run_asynchyper
    }
    versions = f"scikit-learn {sklearn.__version__}"
    if not args.no_hpsklearn:
        try:
            with _quiet():
                import hpsklearn  # noqa: PLC0415, F401 - optional peer
                import hyperopt  # noqa: PLC0415
        except Exception as exc:
            print(f"hyperopt-sklearn cannot be imported here ({exc!r}); measuring asynchyper only")
        else:
            libraries.append("hpsklearn")
            runners["hpsklearn"] = run_hpsklearn
            versions += f", hyperopt {hyperopt.__version__}, hyperopt-sklearn installed"
    print(
        f"# sklearn pipeline search: {args.trials} trials, 3-fold CV, trial timeout "
        f"{args.trial_timeout:g} s, {args.seeds} seed(s), {args.concurrency} core(s) each, "
        f"asynchyper portfolio {'off' if args.no_portfolio else 'on'}"
    )
    print(f"# {versions}; Python {platform.python_version()}; {os.cpu_count()} CPUs")
    print(f"| {'dataset':<14}| seed | {'library':<11}| score  | seconds | best pipeline / notes")
    runs: list[Run] = []
    for name in args.datasets:
        for seed in range(args.first_seed, args.first_seed + args.seeds):
            # Alternate who goes first so that a change in machine load biases neither.
            order = libraries if seed % 2 == 0 else libraries[::-1]
            for library in order:
                run = runners[library](name, seed, args)
                runs.append(run)
                score = f"{run.score:.4f}" if run.score is not None else "  fail"
                print(
                    f"| {name:<14}| {seed:>4} | {library:<11}| {score} | {run.seconds:7.1f} "
                    f"| {run.best} ({run.note})",
                    flush=True,
                )
    _summary(runs, args.datasets, libraries)


if __name__ == "__main__":
    main()
