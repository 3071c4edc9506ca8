"""Conditional model choice: one study searches three model families and their settings.

The space is a tree. ``model: SVM | Forest | KNN`` is a branch choice, and only the
chosen class's fields exist in a trial (an SVM trial has no ``n_estimators``);
``pre: PCA | None`` adds an optional pre-processing step with its own parameter. TPE
learns each branch's parameters from that branch's trials only, and learns which
branch pays off.

The objective is a plain ``def`` (it runs in worker threads, scikit-learn releases the
GIL in its heavy parts) that scores a configuration with 3-fold cross-validation on
scikit-learn's handwritten digits. ``mypy`` checks it: ``cfg.model`` is narrowed by
``isinstance`` like any other union.

Needs scikit-learn (``pip install 'asynchyper[sklearn]'``). Run it with
``python examples/conditional_models.py [--trials N] [--concurrency N]``.
"""

from __future__ import annotations

import argparse
import os
import time
from collections import defaultdict
from typing import Annotated, Any, Literal

import anyio
import attrs
import numpy as np
from sklearn.datasets import load_digits
from sklearn.decomposition import PCA as SklearnPCA
from sklearn.ensemble import RandomForestClassifier
from sklearn.model_selection import cross_val_score
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC

import asynchyper as ah


@attrs.frozen(kw_only=True)
class SVM:
    C: Annotated[float, ah.Float(1e-2, 1e3, log=True)]
    gamma: Annotated[float, ah.Float(1e-4, 1.0, log=True)]


@attrs.frozen(kw_only=True)
class Forest:
    n_estimators: Annotated[int, ah.Int(10, 200, log=True)]
    max_features: Annotated[float, ah.Float(0.05, 1.0)]
    min_samples_leaf: Annotated[int, ah.Int(1, 10)]


@attrs.frozen(kw_only=True)
class KNN:
    n_neighbors: Annotated[int, ah.Int(1, 30, log=True)]
    weights: Literal["uniform", "distance"]


@attrs.frozen(kw_only=True)
class PCA:
    n_components: Annotated[int, ah.Int(8, 48, step=8)]


@attrs.frozen(kw_only=True)
class Space:
    model: SVM | Forest | KNN  # conditional: one branch per trial
    pre: PCA | None  # optional step
    scale: bool  # standardize the features first
    seed: int = 0  # a constant: not searched


def build(cfg: Space) -> Any:
    """The scikit-learn pipeline a configuration describes."""
    steps: list[Any] = [StandardScaler()] if cfg.scale else []
    if cfg.pre is not None:
        steps.append(SklearnPCA(n_components=cfg.pre.n_components, random_state=cfg.seed))
    model = cfg.model
    # scikit-learn has no type hints: pyright guesses a parameter's type from its
    # default (gamma="scale", max_features="sqrt": str), so it refuses a float here.
    if isinstance(model, SVM):
        steps.append(SVC(C=model.C, gamma=model.gamma))  # pyright: ignore[reportArgumentType]
    elif isinstance(model, Forest):
        steps.append(
            RandomForestClassifier(
                n_estimators=model.n_estimators,
                max_features=model.max_features,  # pyright: ignore[reportArgumentType]
                min_samples_leaf=model.min_samples_leaf,
                random_state=cfg.seed,
            )
        )
    else:
        steps.append(KNeighborsClassifier(n_neighbors=model.n_neighbors, weights=model.weights))
    return make_pipeline(*steps)


X, y = load_digits(return_X_y=True)


def accuracy(cfg: Space) -> float:
    """Mean 3-fold cross-validated accuracy (runs in a worker thread)."""
    scores = cross_val_score(build(cfg), X, y, cv=3, n_jobs=1)
    return float(np.mean(scores))


async def main(trials: int, concurrency: int) -> None:
    started = time.perf_counter()
    result = await ah.maximize(accuracy, Space, trials=trials, concurrency=concurrency, seed=0)
    elapsed = time.perf_counter() - started

    by_branch: dict[str, list[float]] = defaultdict(list)
    for trial in result.completed:
        assert trial.value is not None
        by_branch[type(trial.config.model).__name__].append(trial.value)
    print(f"{len(result.completed)} trials in {elapsed:.1f} s, {concurrency} at a time")
    print("branch   trials   best accuracy")
    for branch, values in sorted(by_branch.items(), key=lambda item: -max(item[1])):
        print(f"{branch:<8} {len(values):>6}   {max(values):.4f}")
    best = result.best
    print(f"best: {best.value:.4f} (trial {best.number}) {best.config}")
    print(f"its flat parameters: {dict(best.params)}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    quick = bool(os.environ.get("ASYNCHYPER_QUICK"))
    parser.add_argument("--trials", type=int, default=15 if quick else 60)
    parser.add_argument("--concurrency", type=int, default=min(4, os.cpu_count() or 1))
    arguments = parser.parse_args()
    anyio.run(main, arguments.trials, arguments.concurrency)
