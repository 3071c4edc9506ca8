"""Random search against the suggester contract."""

from __future__ import annotations

import asynchyper as ah

from .contract import SuggesterContract


class TestRandom(SuggesterContract):
    def make_suggester(self) -> ah.Suggester:
        return ah.Random()


def test_repr() -> None:
    assert repr(ah.Random()) == "Random()"
