"""CPU-bound trials in worker processes: ``executor="process"``.

The objective fits a kernel ridge regression with random Fourier features in NumPy
(feature maps, a Gram matrix, a linear solve) and returns the validation error. It is
a plain ``def`` at module level, so it can be pickled and sent to a worker process,
and the script guards its entry point with ``if __name__ == "__main__":`` because every
worker imports this module. Each worker is limited to one BLAS thread (the environment
variables below are set before NumPy is imported and inherited by the workers), so
``concurrency`` worker processes use ``concurrency`` cores.

Processes also isolate trials: a trial that exceeds ``trial_timeout`` has its worker
killed, and a worker that crashes fails only its own trial.

Run it with ``python examples/cpu_processes.py [--trials N] [--concurrency N]``.
"""

from __future__ import annotations

import os

# One BLAS/OpenMP thread per process: set before NumPy loads, inherited by workers.
for _variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")

# ruff: noqa: E402 - the imports below must come after the environment is set.
import argparse
import time
from typing import Annotated, Literal

import anyio
import attrs
import numpy as np
import numpy.typing as npt

import asynchyper as ah

Array = npt.NDArray[np.float64]


@attrs.frozen(kw_only=True)
class KernelRidge:
    lengthscale: Annotated[float, ah.Float(0.05, 20.0, log=True)]
    alpha: Annotated[float, ah.Float(1e-6, 10.0, log=True)]
    n_features: Annotated[int, ah.Int(128, 1024, step=128)]
    kernel: Literal["gaussian", "laplacian"]
    n_samples: int = 1500  # a constant: not searched


def make_data(n_samples: int) -> tuple[Array, Array, Array, Array]:
    """A fixed noisy regression problem in 8 dimensions, split 2:1."""
    rng = np.random.default_rng(0)
    X = rng.uniform(-2.0, 2.0, size=(n_samples, 8))
    y = (
        np.sin(2.0 * X[:, 0]) * np.cos(X[:, 1])
        + 0.5 * X[:, 2] ** 2
        + 0.1 * rng.normal(size=n_samples)
    )
    cut = 2 * n_samples // 3
    return X[:cut], y[:cut], X[cut:], y[cut:]


def validation_error(cfg: KernelRidge) -> float:
    """Root-mean-square validation error of one configuration (runs in a worker)."""
    started = time.process_time()
    X_train, y_train, X_valid, y_valid = make_data(cfg.n_samples)
    rng = np.random.default_rng(1)
    d = X_train.shape[1]
    # Random Fourier features: Gaussian frequencies for the Gaussian kernel, Cauchy
    # ones for the Laplacian kernel.
    if cfg.kernel == "gaussian":
        frequencies = rng.normal(size=(d, cfg.n_features))
    else:
        frequencies = rng.standard_cauchy(size=(d, cfg.n_features))
    frequencies /= cfg.lengthscale
    phases = rng.uniform(0.0, 2.0 * np.pi, size=cfg.n_features)
    scale = np.sqrt(2.0 / cfg.n_features)
    train = scale * np.cos(X_train @ frequencies + phases)
    valid = scale * np.cos(X_valid @ frequencies + phases)
    gram = train.T @ train + cfg.alpha * np.eye(cfg.n_features)
    weights = np.linalg.solve(gram, train.T @ y_train)
    error = float(np.sqrt(np.mean((valid @ weights - y_valid) ** 2)))
    # Stored with the trial: which process ran it and its CPU time there.
    trial = ah.current_trial()
    trial.set_attr("pid", os.getpid())
    trial.set_attr("cpu_seconds", round(time.process_time() - started, 4))
    return error


async def main(trials: int, concurrency: int) -> None:
    started = time.perf_counter()
    result = await ah.minimize(
        validation_error,
        KernelRidge,
        trials=trials,
        concurrency=concurrency,
        executor="process",
        trial_timeout=60.0,
        seed=0,
    )
    elapsed = time.perf_counter() - started
    cpu = 0.0
    pids: set[int] = set()
    for trial in result.completed:
        # user attributes are JSON values: narrowed to the type that was stored
        seconds = trial.user_attrs.get("cpu_seconds")
        cpu += seconds if isinstance(seconds, float) else 0.0
        pid = trial.user_attrs.get("pid")
        if isinstance(pid, int):
            pids.add(pid)
    print(
        f"{len(result.completed)} trials in {elapsed:.1f} s wall time, "
        f"{cpu:.1f} s of CPU time in {len(pids)} worker processes (this one is {os.getpid()})"
    )
    best = result.best
    print(f"best validation RMSE {best.value:.4f} (trial {best.number}): {best.config}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    quick = bool(os.environ.get("ASYNCHYPER_QUICK"))
    parser.add_argument("--trials", type=int, default=16 if quick else 80)
    parser.add_argument(
        "--concurrency", type=int, default=min(4, os.cpu_count() or 1), help="worker processes"
    )
    arguments = parser.parse_args()
    anyio.run(main, arguments.trials, arguments.concurrency)
