"""Random search against the suggester contract."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

import asynchyper as ah
from asynchyper._types import JSONScalar

from .contract import SuggesterContract
from .spaces import Conditional, Deep


class TestRandom(SuggesterContract):
    def make_suggester(self) -> ah.Suggester:
        return ah.Random()


def test_repr() -> None:
    assert repr(ah.Random()) == "Random()"


def test_history_add_checks_the_row_and_the_loss() -> None:
    # Rows fed by hand (a warm start) fail at add(), not in a later suggest().
    space = ah.compile_space(Conditional)
    history = ah.History(space)
    good = space.sample(np.random.default_rng(0))
    history.add(good, 0.5)
    history.add(good, None)
    history.add(good, math.nan)
    missing = dict(good)
    missing.pop(next(iter(missing)))
    with pytest.raises(ah.ParameterError, match="missing active parameter"):
        history.add(missing, 0.5)
    with pytest.raises(ah.ParameterError, match="unknown parameter"):
        history.add({**good, "extra": 1}, 0.5)
    for loss in (math.inf, -math.inf, "0.3", True):
        with pytest.raises(ah.SuggesterError, match="a loss must be a finite number"):
            history.add(good, loss)  # type: ignore[arg-type]
    assert len(history) == 3


def test_history_arrays_are_read_only_views() -> None:
    # A suggester's `X[np.isnan(X)] = 0` would erase the inactive and failed markers.
    space = ah.compile_space(Conditional)
    history = ah.History(space)
    history.add(space.sample(np.random.default_rng(0)), None)
    for array in (history.X, history.y):
        with pytest.raises(ValueError, match="read-only"):
            array[...] = 0.0
    assert np.isnan(history.y[0])
    history.add(space.sample(np.random.default_rng(1)), 0.5)  # still grows
    assert history.y.tolist()[1] == 0.5


@pytest.mark.parametrize(
    "fixed", [{"outer": "Top"}, {"outer": "Top", "outer:Top.inner": "Middle"}, {"scale": 2.0}]
)
def test_the_inherited_completion_fills_every_level_a_given_branch_opens(
    fixed: dict[str, JSONScalar],
) -> None:
    # The default suggest_given (a custom suggester's) took one suggestion and drew
    # from the prior what a given branch choice made active, in one pass: a branch
    # drawn there left its own parameters empty (ParameterError, 8 of 40 calls).
    space = ah.compile_space(Deep)
    rng = np.random.default_rng(0)
    for _ in range(40):
        out = ah.Suggester.suggest_given(ah.Random(), space, ah.History(space), [], rng, fixed)
        assert space.validate(out) == out
        assert {name: out[name] for name in fixed} == fixed


class Empty(ah.Suggester):
    """Returns nothing: a broken custom suggester."""

    def suggest(self, space: Any, history: Any, pending: Any, rng: Any, k: int = 1) -> Any:
        return []


def test_the_inherited_completion_names_a_suggester_that_returned_nothing() -> None:
    space = ah.compile_space(Deep)
    rng = np.random.default_rng(0)
    with pytest.raises(ah.SuggesterError, match=r"Empty.*suggest\(k=1\) returned 0 proposals"):
        Empty().suggest_given(space, ah.History(space), [], rng, {"outer": "Top"})
