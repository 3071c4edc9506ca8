"""I/O-bound trials against a rate-limited remote API, 32 in flight.

Each trial calls a (simulated) remote training API that allows at most ``--rate`` calls
per second (bursts of ``--burst``) and ``--connections`` open connections. The
objective is an ``async def``, so all 32 trials wait on the event loop without a
thread each. The client respects both limits with two small tools:

* ``anyio.CapacityLimiter`` caps the open connections;
* a token bucket (``TokenBucket`` below) spaces the calls out in time.

Calls take a random 0.05-0.25 s; a few fail transiently (``retries=1`` re-runs them with
the same parameters) and the 20th hangs (``trial_timeout`` cancels it, which closes its
connection). At the end
the script counts the calls made in every one-second window to show that the rate
limit held.

Run it with ``python examples/io_rate_limit.py [--trials N] [--rate R]``.
"""

from __future__ import annotations

import argparse
import bisect
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


class TokenBucket:
    """At most ``rate`` acquisitions per second on average, in bursts of up to ``burst``.

    Waiters are served first come, first served (``anyio.Lock`` is fair), so no trial
    starves while others keep arriving.
    """

    def __init__(self, rate: float, burst: int) -> None:
        self.rate = rate
        self.burst = burst
        self.tokens = float(burst)
        self.updated: float | None = None
        self.lock = anyio.Lock()

    async def acquire(self) -> None:
        async with self.lock:
            now = anyio.current_time()
            if self.updated is not None:
                self.tokens = min(self.burst, self.tokens + (now - self.updated) * self.rate)
            self.updated = now
            if self.tokens < 1.0:
                # Sleep (holding the lock: the queue waits behind us) until one token exists;
                # restart the clock from when we woke, so oversleeping never earns credit.
                await anyio.sleep((1.0 - self.tokens) / self.rate)
                self.tokens, self.updated = 1.0, anyio.current_time()
            self.tokens -= 1.0


class RemoteAPI:
    """Pretends to train a model on a remote service and records every call."""

    def __init__(self, seed: int) -> None:
        self.random = random.Random(seed)
        self.call_times: list[float] = []
        self.open_connections = 0
        self.most_open = 0

    async def train(self, job: Job) -> float:
        self.call_times.append(anyio.current_time())
        self.open_connections += 1
        self.most_open = max(self.most_open, self.open_connections)
        try:
            latency = self.random.uniform(0.05, 0.25)
            if len(self.call_times) == 20:
                latency = 3600.0  # a hung request: trial_timeout cancels it
            await anyio.sleep(latency)
            if self.random.random() < 0.04:
                msg = "503 Service Unavailable (transient)"
                raise ConnectionError(msg)
        finally:
            self.open_connections -= 1
        penalty = 0.0 if job.optimizer == "adam" else 0.2
        return (math.log10(job.lr) + 2.5) ** 2 + (math.log2(job.batch_size) - 7) ** 2 / 10 + penalty


class Client:
    """Calls the API within its limits: open connections and calls per second."""

    def __init__(self, api: RemoteAPI, *, rate: float, burst: int, connections: int) -> None:
        self.api = api
        self.bucket = TokenBucket(rate, burst)
        self.connections = anyio.CapacityLimiter(connections)

    async def train(self, job: Job) -> float:
        async with self.connections:
            await self.bucket.acquire()
            return await self.api.train(job)


def busiest_second(times: list[float]) -> int:
    """The most calls in any window of one second (sliding, not aligned to the clock)."""
    times = sorted(times)
    return max(
        (bisect.bisect_left(times, start + 1.0) - i for i, start in enumerate(times)), default=0
    )


async def main(trials: int, concurrency: int, rate: float, burst: int, connections: int) -> None:
    api = RemoteAPI(seed=0)
    client = Client(api, rate=rate, burst=burst, connections=connections)

    async def objective(job: Job) -> ah.Evaluation:
        queued = anyio.current_time()
        loss = await client.train(job)
        # The attributes are stored with the trial: here, its time waiting for and on the API.
        return ah.Evaluation(loss, {"seconds": round(anyio.current_time() - queued, 3)})

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
    timed_out = [t for t in failed if "trial_timeout" in (t.error or "")]
    first = min(api.call_times)
    per_second = [0] * (int(max(api.call_times) - first) + 1)
    for moment in api.call_times:
        per_second[int(moment - first)] += 1
    peak = busiest_second(api.call_times)
    print(
        f"{len(result.completed)} trials completed, {len(failed)} failed and were retried "
        f"({len(timed_out)} cancelled by trial_timeout); {len(api.call_times)} API calls "
        f"in {elapsed:.1f} s with {concurrency} trials in flight"
    )
    print(f"calls in each second: {per_second}")
    print(
        f"busiest one-second window: {peak} calls (limit {rate:g}/s + burst {burst}); "
        f"most open connections: {api.most_open} (limit {connections})"
    )
    best = result.best
    print(
        f"best loss {best.value:.4f} (trial {best.number}, {best.user_attrs['seconds']} s "
        f"including the queue): {best.config}"
    )
    if peak > rate + burst or api.most_open > connections:
        msg = "the client exceeded the API's limits"
        raise SystemExit(msg)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    quick = bool(os.environ.get("ASYNCHYPER_QUICK"))
    parser.add_argument("--trials", type=int, default=60 if quick else 200)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--rate", type=float, default=40.0, help="API calls per second")
    parser.add_argument("--burst", type=int, default=5, help="calls allowed in a burst")
    parser.add_argument("--connections", type=int, default=8, help="open connections")
    arguments = parser.parse_args()
    anyio.run(
        main,
        arguments.trials,
        arguments.concurrency,
        arguments.rate,
        arguments.burst,
        arguments.connections,
    )
