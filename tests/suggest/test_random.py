"""Random search against the suggester contract."""

from __future__ import annotations

import math

import numpy as np
import pytest

import asynchyper as ah

from .contract import SuggesterContract
from .spaces import Conditional


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
