"""A compiled space lives as long as its class: classes built per request are freed."""

from __future__ import annotations

import gc
import weakref
from typing import Annotated, Any

import attrs
import numpy as np

import asynchyper as ah


def _request_space() -> type[Any]:
    """A space class built at run time, as a service does for each request."""

    @attrs.frozen(kw_only=True)
    class RequestSpace:
        x: Annotated[float, ah.Float(-5.0, 5.0)]
        k: Annotated[int, ah.Int(1, 9)]

    return RequestSpace


def test_compiled_space_is_cached_and_freed_with_its_class() -> None:
    cls = _request_space()
    space = ah.compile_space(cls)
    assert ah.compile_space(cls) is space  # still cached per class
    gone = weakref.ref(cls)
    del cls, space
    gc.collect()
    assert gone() is None


def test_subclass_is_compiled_for_itself() -> None:
    base = _request_space()
    sub = attrs.make_class("Sub", {}, bases=(base,), frozen=True, kw_only=True)
    assert ah.compile_space(base).cls is base
    assert ah.compile_space(sub).cls is sub


def test_shared_suggester_does_not_keep_spaces_alive() -> None:
    suggester = ah.TPE(n_startup=2)
    refs = []
    for seed in range(3):
        cls = _request_space()
        space = ah.compile_space(cls)
        history = ah.History(space)
        rng = np.random.default_rng(seed)
        for _ in range(4):  # past the random start: the model path encodes too
            params = suggester.suggest(space, history, [], rng, 1)[0]
            x = params["x"]
            assert isinstance(x, float)
            history.add(params, x**2)
        refs.append(weakref.ref(cls))
        del cls, space, history
    gc.collect()
    # the suggester keeps at most the last history's rows (UnitRows), not every space
    assert sum(ref() is not None for ref in refs) <= 1
