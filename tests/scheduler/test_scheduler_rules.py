"""Stop rules, retries and the direction, pinned where a mutation of the code survived.

Each test names the wrong code it catches (found by mutating the source by hand).
"""

from __future__ import annotations

from collections import Counter
from typing import Annotated, Any

import anyio
import attrs
import pytest
from scheduler_helpers import Quad, Recording

import asynchyper as ah
from asynchyper._executor import current_trial

pytestmark = pytest.mark.anyio


async def test_each_failed_configuration_gets_exactly_retries_more_attempts() -> None:
    # `attempt <= retries` ran each one three times; not counting attempts up retried
    # the first configuration until max_failures.
    attempts: Counter[float] = Counter()

    async def always_fails(config: Quad) -> float:
        attempts[config.x] += 1
        msg = "broken"
        raise RuntimeError(msg)

    result = await ah.minimize(
        always_fails, Quad, trials=3, retries=1, max_failures=8, suggester=ah.Random()
    )
    assert result.stop_reason == "max_failures"
    assert sorted(attempts.values()) == [2, 2, 2, 2]


async def test_patience_does_not_count_a_tie_as_an_improvement() -> None:
    async def flat(config: Quad) -> float:
        return 1.0

    result = await ah.minimize(flat, Quad, trials=20, patience=3, suggester=ah.Random())
    assert result.stop_reason == "patience"
    assert len(result.trials) == 4  # the first sets the best; three ties do not beat it


async def test_a_target_when_maximizing_is_reached_from_below() -> None:
    # The target was compared without the direction's sign: the first trial stopped it.
    async def rising(config: Quad) -> float:
        return 0.1 * current_trial().number

    result = await ah.maximize(rising, Quad, trials=50, target=0.45, suggester=ah.Random())
    assert result.stop_reason == "target"
    assert [t.number for t in result.trials] == [0, 1, 2, 3, 4, 5]


@pytest.mark.parametrize("direction", ["minimize", "maximize"])
async def test_patience_counts_from_the_best_of_earlier_runs(direction: ah.Direction) -> None:
    # A resumed run's patience started from no best at all (or from the last value
    # seen), so that a trial worse than the study's best counted as an improvement.
    sign = 1.0 if direction == "minimize" else -1.0
    values = iter([0.5, 2.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0])
    storage = ah.MemoryStorage()

    async def objective(config: Quad) -> float:
        return sign * next(values)

    options: dict[str, Any] = {"storage": storage, "study": "s", "direction": direction}
    await ah.minimize(objective, Quad, trials=2, suggester=ah.Random(), **options)
    again = await ah.minimize(
        objective, Quad, trials=8, patience=2, suggester=ah.Random(), **options
    )
    assert again.stop_reason == "patience"
    assert len(again.trials) == 4  # two earlier trials, then two without improvement


@attrs.frozen(kw_only=True)
class Line:
    x: Annotated[float, ah.Float(-5.0, 5.0)]


async def test_tpe_maximizing_a_value_searches_as_minimizing_its_negation() -> None:
    # The history fed to the suggester must hold losses (the negated values): without
    # the sign TPE searched for the minimum of a maximized objective.
    async def peak(config: Line) -> float:
        return -((config.x - 3.0) ** 2)

    async def valley(config: Line) -> float:
        return (config.x - 3.0) ** 2

    up = await ah.maximize(peak, Line, trials=30, seed=0)
    down = await ah.minimize(valley, Line, trials=30, seed=0)
    assert [t.params for t in up.trials] == [t.params for t in down.trials]
    assert up.best.value is not None
    assert up.best.value > -0.1


async def test_failed_trials_reach_the_suggester_as_failures() -> None:
    # A failed trial must be in the history (NaN), or a model asks for it again.
    async def fails_first(config: Quad) -> float:
        await anyio.lowlevel.checkpoint()
        if current_trial().number < 3:
            msg = "no"
            raise ValueError(msg)
        return config.x

    suggester = Recording()
    await ah.minimize(fails_first, Quad, trials=2, suggester=suggester)
    assert suggester.history_seen[-1] == (4, 3)


@pytest.mark.parametrize("direction", ["minimize", "maximize"])
async def test_the_best_of_tied_trials_is_the_first_to_reach_the_value(
    direction: ah.Direction,
) -> None:
    values = [3.0, 1.0, 2.0, 1.0, 1.0] if direction == "minimize" else [1.0, 3.0, 2.0, 3.0, 3.0]

    async def objective(config: Quad) -> float:
        return values[current_trial().number]

    result = await ah.minimize(
        objective, Quad, trials=5, direction=direction, suggester=ah.Random()
    )
    assert result.best.number == 1
