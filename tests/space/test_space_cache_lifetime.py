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


_PICKLE_CLASS = """
import sys
from typing import Annotated

import attrs
import cloudpickle

import asynchyper as ah


@attrs.frozen
class Momentum:
    lr: Annotated[float, ah.Float(1e-3, 1.0, log=True)]


ah.compile_space(Momentum)  # compiled before the class is pickled, as a study does
sys.stdout.buffer.write(cloudpickle.dumps(Momentum))
"""

_LOAD_CLASS = """
import sys

import cloudpickle

import asynchyper as ah

cls = cloudpickle.loads(sys.stdin.buffer.read())
print(ah.compile_space(cls).names)
"""


def test_a_class_pickled_by_value_compiles_where_it_is_loaded(tmp_path: Any) -> None:
    # Dask ships a class of a script's __main__ by value (cloudpickle), __dict__ and
    # all: a space stored on the class was rebuilt before the class was whole, and
    # every Dask worker refused the space ("not an attrs class").
    import subprocess  # noqa: PLC0415
    import sys  # noqa: PLC0415

    import pytest  # noqa: PLC0415

    pytest.importorskip("cloudpickle")
    dumped = subprocess.run(
        [sys.executable, "-c", _PICKLE_CLASS], capture_output=True, check=True, cwd=tmp_path
    ).stdout
    loaded = subprocess.run(
        [sys.executable, "-c", _LOAD_CLASS],
        input=dumped,
        capture_output=True,
        check=False,
        cwd=tmp_path,
    )
    assert loaded.returncode == 0, loaded.stderr.decode()
    assert loaded.stdout.decode().strip() == "('lr',)"
