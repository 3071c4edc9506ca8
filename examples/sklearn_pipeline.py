"""Tune a whole scikit-learn pipeline from data alone, then a narrowed space.

Needs the ``sklearn`` extra: ``pip install 'asynchyper[sklearn]'``. Run it with
``python examples/sklearn_pipeline.py [--trials N]``. Trials run in two worker
processes; the ``if __name__ == "__main__":`` guard is required for that.
"""

from __future__ import annotations

import argparse
import os
import time

import attrs
from sklearn.datasets import load_breast_cancer
from sklearn.model_selection import train_test_split

import asynchyper.sklearn as ahs


@attrs.frozen(kw_only=True)
class TreesOnly(ahs.ClassifierPipeline):
    """Narrow the ready-made space: no pre-processing, tree ensembles only."""

    preprocessing: None = None
    model: ahs.RandomForestClassifier | ahs.ExtraTreesClassifier


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    quick = bool(os.environ.get("ASYNCHYPER_QUICK"))
    parser.add_argument("--trials", type=int, default=4 if quick else 20, help="trials per search")
    args = parser.parse_args()

    X, y = load_breast_cancer(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.25, random_state=0, stratify=y
    )

    for space in (ahs.ClassifierPipeline, TreesOnly):
        model = ahs.AutoClassifier(
            space=space,
            trials=args.trials,
            cv=3,
            concurrency=2,
            executor="thread" if quick else "process",  # quick (CI): no worker start-up
            timeout=300,  # the whole search
            trial_timeout=60,  # one configuration
            seed=0,
        )
        started = time.perf_counter()
        model.fit(X_train, y_train)
        seconds = time.perf_counter() - started
        print(f"\n== {space.__name__}: {model.n_completed_} trials in {seconds:.1f} s")
        print(f"best configuration: {model.best_config_}")
        print(f"cross-validated accuracy: {model.best_score_:.4f}")
        print(f"held-out accuracy:        {model.score(X_test, y_test):.4f}")
        ranked = sorted(model.result_.completed, key=lambda t: t.value or 0.0)
        print("top trials (accuracy, model, pre-processing):")
        for trial in ranked[:5]:
            config = trial.config
            step = type(config.preprocessing).__name__ if config.preprocessing else "none"
            print(f"  {-(trial.value or 0.0):.4f}  {type(config.model).__name__:<32} {step}")


if __name__ == "__main__":
    main()
