"""Categorical choices with weights (Hyperopt's ``hp.pchoice``): declared, checked,
described, drawn in proportion, and taken by a stored study as a compatible change."""

from __future__ import annotations

import enum
import logging
from collections import Counter
from pathlib import Path
from typing import Annotated, Any

import attrs
import numpy as np
import pytest

import asynchyper as ah
from asynchyper._cli._format import dimension_row

from .test_space_errors import _only


class Opt(enum.Enum):
    ADAM = "adam"
    SGD = "sgd"
    RMS = "rms"


@attrs.frozen(kw_only=True)
class Weighted:
    opt: Annotated[str, ah.Categorical(["adam", "sgd", "rms"], weights=[6, 3, 1])]
    member: Annotated[Opt, ah.Categorical([Opt.SGD, Opt.ADAM], weights=(0.25, 0.75))]
    x: Annotated[float, ah.Float(0.0, 1.0)]


@attrs.frozen(kw_only=True)
class Plain:
    opt: Annotated[str, ah.Categorical(["adam", "sgd", "rms"])]
    member: Annotated[Opt, ah.Categorical([Opt.SGD, Opt.ADAM])]
    x: Annotated[float, ah.Float(0.0, 1.0)]


def test_weights_are_normalised_and_described() -> None:
    space = ah.compile_space(Weighted)
    opt, member, x = space.describe()
    assert opt["weights"] == pytest.approx([0.6, 0.3, 0.1])
    assert member["choices"] == ["SGD", "ADAM"]
    assert member["weights"] == [0.25, 0.75]
    assert "weights" not in x
    # Only a weighted dimension is described with them: every other space keeps its
    # description, hence its fingerprint, and a stored study its match.
    plain = ah.compile_space(Plain)
    assert all("weights" not in d for d in plain.describe())
    assert plain.fingerprint != space.fingerprint
    assert dimension_row(opt)[2] == "{adam: 0.6, sgd: 0.3, rms: 0.1}"
    assert opt["weights"] == [0.6, 0.3, 0.1]  # exactly, when the sum does not overflow


def test_the_fingerprint_keeps_each_weight_with_its_choice() -> None:
    def fingerprint(choices: list[str], weights: list[float]) -> str:
        marked: Any = Annotated[str, ah.Categorical(choices, weights=weights)]
        cls = attrs.make_class("F", {"opt": attrs.field(type=marked)}, frozen=True)
        return ah.compile_space(cls).fingerprint

    same = fingerprint(["adam", "sgd"], [0.9, 0.1])
    assert fingerprint(["sgd", "adam"], [0.1, 0.9]) == same  # reordered together
    assert fingerprint(["sgd", "adam"], [0.9, 0.1]) != same  # another prior


def test_markers_with_other_weights_are_other_markers() -> None:
    # typing caches Annotated[...] by its metadata: equal markers would be one.
    plain = ah.Categorical(["a", "b"])
    weighted = ah.Categorical(["a", "b"], weights=[1, 3])
    assert plain != weighted
    assert weighted == ah.Categorical(["a", "b"], weights=[1, 3])
    assert hash(weighted) == hash(ah.Categorical(("a", "b"), weights=(1, 3)))
    assert repr(weighted) == "Categorical(['a', 'b'], weights=[1, 3])"
    assert Annotated[str, plain] != Annotated[str, weighted]
    # A refused [True, 3] must not stand in for [1, 3] in typing's cache.
    assert ah.Categorical(["a", "b"], weights=[True, 3]) != ah.Categorical(
        ["a", "b"], weights=[1, 3]
    )


@pytest.mark.parametrize(
    ("weights", "problem"),
    [
        ([1, 2], "2 weight(s) for 3 choice(s)"),
        ([1, 0, 2], "weight(s) [0] are not positive finite numbers"),
        ([1, -1, 2], "weight(s) [-1] are not positive finite numbers"),
        ([1, float("nan"), 2], "weight(s) [nan] are not positive finite numbers"),
        ([1, float("inf"), 2], "weight(s) [inf] are not positive finite numbers"),
        ([1, True, 2], "weight(s) [True] are not positive finite numbers"),
        ([1, "2", 2], "weight(s) ['2'] are not positive finite numbers"),
        ([1, 10**400, 2], "are not positive finite numbers"),
        (3, "1 weight(s) for 3 choice(s)"),
        ({1, 2, 3}, "a set or a mapping has no order"),
        ({"a": 1, "b": 2, "c": 3}, "a set or a mapping has no order"),
        ([1e300, 1e-300, 1], "the smallest is 0 next to the others"),
    ],
)
def test_bad_weights_name_the_field_the_weights_and_the_fix(weights: Any, problem: str) -> None:
    # Built at run time: the annotation holds a parameter of the test.
    marked: Any = Annotated[str, ah.Categorical(["a", "b", "c"], weights=weights)]
    bad = attrs.make_class("Bad", {"opt": attrs.field(type=marked)}, frozen=True)
    message = _only(bad, "Bad.opt")
    assert problem in message
    assert "give" in message


def _shares(values: list[Any], choices: list[Any]) -> list[float]:
    counts = Counter(values)
    return [counts[c] / len(values) for c in choices]


def test_random_draws_follow_the_weights_on_both_paths() -> None:
    space = ah.compile_space(Weighted)
    rng = np.random.default_rng(0)
    n = 20_000
    # The vector path (Random, TPE's random start) and the scalar one (space.sample).
    vector = ah.Random().suggest(space, ah.History(space), [], rng, k=n)
    scalar = [space.sample(rng) for _ in range(n)]
    for drawn in (vector, scalar):
        # 5 standard deviations of a share at n draws: about 0.017 at most.
        tolerance = 5 * np.sqrt(0.25 / n)
        opt = _shares([p["opt"] for p in drawn], ["adam", "sgd", "rms"])
        assert opt == pytest.approx([0.6, 0.3, 0.1], abs=tolerance)
        member = _shares([p["member"] for p in drawn], ["SGD", "ADAM"])
        assert member == pytest.approx([0.25, 0.75], abs=tolerance)


def test_tpe_starts_by_the_weights_and_then_goes_by_the_results() -> None:
    # Its random start draws by the weights; its model treats the choices alike (as
    # without weights), so a choice of small weight that the results favour is not
    # starved (with the weights in the model, a best choice of weight 1 % among ten
    # was found in 1 of 10 seeds in 60 trials; Hyperopt's pchoice: 5 of 10).
    choices = list("abcdefghij")
    marked: Any = Annotated[str, ah.Categorical(choices, weights=[1.0] * 9 + [0.01])]
    unit: Any = Annotated[float, ah.Float(0.0, 1.0)]
    fields = {"opt": attrs.field(type=marked), "x": attrs.field(type=unit)}
    space: ah.Space[Any] = ah.compile_space(
        attrs.make_class("Rare", fields, frozen=True, kw_only=True)
    )
    found = 0
    for seed in range(5):
        rng = np.random.default_rng(seed)
        history = ah.History(space)
        tpe = ah.TPE()
        start = tpe.suggest(space, history, [], rng, k=tpe.n_startup)
        assert sum(p["opt"] == "j" for p in start) <= 1  # weight 0.0011 each
        for params in start:
            history.add(params, float(params["x"]))  # type: ignore[arg-type]
        for _ in range(60):
            (params,) = tpe.suggest(space, history, [], rng)
            best = params["opt"] == "j"
            history.add(params, (float(params["x"]) - 0.3) ** 2 + 0.3 * (not best))  # type: ignore[arg-type]
            if best:
                found += 1
                break
    assert found >= 4


@pytest.mark.anyio
async def test_a_stored_study_takes_other_weights(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # The same configurations, other priors: a compatible change, not a mismatch.
    caplog.set_level(logging.INFO, logger="asynchyper")
    db = str(tmp_path / "s.db")

    def value(config: Plain | Weighted) -> float:
        return config.x

    first = await ah.minimize(value, Plain, trials=4, storage=db, study="s", seed=0)
    weighted = await ah.minimize(value, Weighted, trials=8, storage=db, study="s", seed=0)
    assert [t.params for t in weighted.trials[:4]] == [t.params for t in first.trials]
    async with ah.SQLiteStorage(db) as store:
        stored = await store.get_study("s")
    assert stored.fingerprint == ah.compile_space(Weighted).fingerprint
    back = await ah.minimize(value, Plain, trials=10, storage=db, study="s", seed=0)
    assert len(back.trials) == 10
