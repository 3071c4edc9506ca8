"""Concurrent I/O-bound evaluation: simulated remote training jobs.

Each trial submits a job to a (simulated) remote service, which accepts at most
``--rate`` submissions per second, then waits a random 0.1-0.5 s for the result; a few
jobs fail transiently and are retried once with the same parameters, and a job that
hangs is cut off by ``trial_timeout``. With 32 trials in flight the whole study takes
about as long as the slowest jobs, not as long as all of them together.

Run it with ``python examples/io_bound.py [--trials N] [--concurrency N]``.
"""

from __future__ import annotations

import argparse
import math
import os
import random
import time
from typing import Annotated, Literal

import anyio
import attrs

import asynchyper as ah


@attrs.frozen(kw_only=True)
class Job:
    lr: Annotated[float, ah.Float(1e-4, 1.0, log=True)]
    batch_size: Annotated[int, ah.Int(16, 512, log=True)]
    optimizer: Literal["sgd", "adam"]


class RateLimiter:
    """At most ``rate`` calls per second, spread evenly (a leaky bucket)."""

    def __init__(self, rate: float) -> None:
        self.interval = 1.0 / rate
        self.next_slot = 0.0
        self.lock = anyio.Lock()

    async def wait(self) -> None:
        async with self.lock:
            now = anyio.current_time()
            self.next_slot = max(self.next_slot, now)
            delay = self.next_slot - now
            self.next_slot += self.interval
        await anyio.sleep(delay)


class RemoteService:
    """Pretends to train a model somewhere else."""

    def __init__(self, rate: float, seed: int) -> None:
        self.limiter = RateLimiter(rate)
        self.random = random.Random(seed)
        self.submitted = 0
        self.busy_seconds = 0.0

    async def train(self, job: Job) -> tuple[str, float]:
        await self.limiter.wait()
        self.submitted += 1
        job_id = f"job-{self.submitted:04d}"
        latency = self.random.uniform(0.1, 0.5)
        if self.random.random() < 0.01:
            latency = 3600.0  # a stuck job: trial_timeout cuts it off
        self.busy_seconds += min(latency, 2.0)
        await anyio.sleep(latency)
        if self.random.random() < 0.05:
            msg = f"{job_id}: connection reset by peer"
            raise ConnectionError(msg)
        penalty = 0.0 if job.optimizer == "adam" else 0.2
        loss = (math.log10(job.lr) + 2.5) ** 2 + (math.log2(job.batch_size) - 7) ** 2 / 10
        return job_id, loss + penalty


async def main(trials: int, concurrency: int, rate: float) -> None:
    service = RemoteService(rate=rate, seed=0)

    async def objective(job: Job) -> ah.Evaluation:
        started = anyio.current_time()
        job_id, loss = await service.train(job)
        return ah.Evaluation(loss, {"job_id": job_id, "seconds": anyio.current_time() - started})

    started = time.perf_counter()
    result = await ah.minimize(
        objective,
        Job,
        trials=trials,
        concurrency=concurrency,
        trial_timeout=2.0,
        retries=1,
        seed=0,
    )
    elapsed = time.perf_counter() - started
    failed = [t for t in result.trials if t.state is ah.TrialState.FAILED]
    print(f"{len(result.completed)} jobs completed, {len(failed)} failed (retried or replaced)")
    print(
        f"wall time {elapsed:.1f} s for {service.busy_seconds:.1f} s of job time "
        f"({service.busy_seconds / elapsed:.1f}x from {concurrency} jobs in flight, "
        f"at most {rate:g} submissions/s)"
    )
    best = result.best
    print(f"best loss {best.value:.4f} ({best.user_attrs['job_id']}): {best.config}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    quick = bool(os.environ.get("ASYNCHYPER_QUICK"))
    parser.add_argument("--trials", type=int, default=60 if quick else 150)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--rate", type=float, default=100.0, help="submissions per second")
    arguments = parser.parse_args()
    anyio.run(main, arguments.trials, arguments.concurrency, arguments.rate)
