"""Unit coordinates, grids, activity groups and enumeration of finite spaces."""

from __future__ import annotations

from typing import Annotated, Any

import attrs
import numpy as np
import pytest

import asynchyper as ah
from asynchyper._suggest._encoding import Encoding
from asynchyper._suggest._novelty import collides, novel_prior

from . import spaces


def test_unit_round_trip_snaps_to_grids_and_bounds() -> None:
    space = ah.compile_space(spaces.Steps)
    encoding = Encoding(space.dimensions)
    unit = np.array([[0.0, 1.0], [1.0, 0.0], [0.52, 0.33], [-0.2, 1.3]])
    raw = encoding.from_unit(unit)
    assert raw[:, 0].tolist() == pytest.approx([0.0, 0.5, 0.25, 0.0])
    assert np.all(raw[:, 1] % 16 == 0)
    assert raw[3, 1] == 256
    np.testing.assert_allclose(encoding.from_unit(encoding.to_unit(raw)), raw)


def test_every_grid_point_owns_an_equal_share() -> None:
    space = ah.compile_space(spaces.Ints)  # n in [-3, 7]: 11 values
    encoding = Encoding(space.dimensions)
    unit = np.column_stack([np.linspace(0, 1, 110001), np.zeros(110001)])
    values = encoding.from_unit(unit)[:, 0]
    _, counts = np.unique(values, return_counts=True)
    assert len(counts) == 11
    assert counts.max() - counts.min() <= 2


def test_log_dimensions_are_uniform_in_log_space() -> None:
    space = ah.compile_space(spaces.Logs)
    encoding = Encoding(space.dimensions)
    raw = encoding.from_unit(np.array([[0.5, 0.0]]))
    assert raw[0, 0] == pytest.approx(np.sqrt(1e-6 * 1e-1))
    assert raw[0, 1] == 1


def test_groups_follow_the_branch_structure() -> None:
    space = ah.compile_space(spaces.Deep)
    encoding = Encoding(space.dimensions)
    names = space.names
    by_name = {tuple(names[j] for j in group.columns.tolist()): group for group in encoding.groups}
    assert ("outer", "scale") in by_name
    leaf = by_name[("outer:Top.inner:Middle.inner:Leaf.z",)]
    middle = encoding.groups[leaf.parent_group]
    assert names[leaf.parent_column] == "outer:Top.inner:Middle.inner"
    assert "outer:Top.inner:Middle.y" in [names[j] for j in middle.columns.tolist()]


@pytest.mark.parametrize(
    ("space_cls", "size"),
    [(spaces.SmallDiscrete, 12), (spaces.SmallConditional, 6), (spaces.Categoricals, 72)],
)
def test_enumeration_lists_every_configuration_once(space_cls: type[object], size: int) -> None:
    space = ah.compile_space(space_cls)
    encoding = Encoding(space.dimensions)
    assert encoding.size() == size
    everything = encoding.enumerate()
    assert everything.shape[0] == size
    params = [space.from_vector(row) for row in everything]
    assert len({tuple(sorted(p.items())) for p in params}) == size
    for p in params:
        space.validate(p)


def test_continuous_space_has_no_size() -> None:
    assert Encoding(ah.compile_space(spaces.Floats).dimensions).size() is None


def test_collides_treats_nan_as_equal_and_uses_a_tolerance() -> None:
    encoding = Encoding(ah.compile_space(spaces.Floats).dimensions)
    seen = np.array([[1.0, np.nan], [0.1 + 0.2, 0.5]])
    rows = np.array([[1.0, np.nan], [0.3, 0.5], [1.0, 0.0], [0.3, np.nan]])
    assert collides(rows, seen, encoding).tolist() == [True, True, False, False]
    assert collides(rows, np.empty((0, 2)), encoding).tolist() == [False] * 4
    # One row at a time takes a shortcut through the first column; same answers.
    for row, expected in zip(rows, [True, True, False, False], strict=True):
        assert collides(row[None, :], seen, encoding).tolist() == [expected]
    nan_first = np.array([[np.nan, 0.25], [np.nan, 0.5]])
    assert collides(np.array([[np.nan, 0.5]]), nan_first, encoding).tolist() == [True]
    assert collides(np.array([[np.nan, 0.75]]), nan_first, encoding).tolist() == [False]
    # continuous values compare relatively: tiny ones are not all "the same"
    assert collides(np.array([[1.0, 1e-12]]), np.array([[1.0, 2e-12]]), encoding).tolist() == [
        False
    ]


@attrs.frozen(kw_only=True)
class TinyStep:
    x: Annotated[float, ah.Float(0.0, 1e-11, step=1e-12)]


@attrs.frozen(kw_only=True)
class NearTwoTo53:
    n: Annotated[int, ah.Int(2**53 - 1988, 2**53 - 1977)]


@pytest.mark.parametrize(("cls", "size"), [(TinyStep, 11), (NearTwoTo53, 12)])
def test_grid_neighbours_never_collide(cls: type, size: int) -> None:
    # A tolerance relative to the value merged every grid point below 1e-9, and ints
    # near 2**53 with their neighbours: tried configurations were proposed again.
    encoding = Encoding(ah.compile_space(cls).dimensions)
    grid = encoding.enumerate()
    assert grid.shape[0] == size
    for i in range(size):
        hits = collides(grid[i : i + 1], np.delete(grid, i, axis=0), encoding)
        assert hits.tolist() == [False]
        assert collides(grid[i : i + 1], grid, encoding).tolist() == [True]
    keys = encoding.grid_keys(grid)
    assert np.unique(keys, axis=0).shape[0] == size


@pytest.mark.parametrize(("cls", "size"), [(TinyStep, 11), (NearTwoTo53, 12)])
@pytest.mark.parametrize("suggester", [ah.Random(), ah.TPE(n_startup=3)], ids=["random", "tpe"])
def test_a_small_grid_is_covered_without_repeats(
    cls: type, size: int, suggester: ah.Suggester
) -> None:
    space: ah.Space[Any] = ah.compile_space(cls)
    history = ah.History(space)
    rng = np.random.default_rng(0)
    for i in range(size):
        (params,) = suggester.suggest(space, history, [], rng)
        history.add(params, float(i))
    assert len({tuple(p.values()) for p in history.params}) == size


def test_activity_is_top_down() -> None:
    space = ah.compile_space(spaces.Deep)
    encoding = Encoding(space.dimensions)
    rng = np.random.default_rng(0)
    raw = space.sample_vectors(rng, 200)
    active = encoding.group_activity(raw)
    expected = space.active_mask(raw)
    for group in encoding.groups:
        for column in group.columns.tolist():
            np.testing.assert_array_equal(active[:, group.index], expected[:, column])


def test_a_row_within_the_tolerance_collides_in_the_one_candidate_path() -> None:
    # One candidate first filters the seen rows by its first column, with a looser
    # tolerance than the final comparison; a tighter filter let near-equal rows through.
    space = ah.compile_space(spaces.Line)
    encoding = Encoding(space.dimensions)
    candidate = np.array([[1.0]])
    near = np.array([[1.0 + 0.9e-9], [7.0]])  # within the relative tolerance of 1e-9
    assert collides(candidate, near, encoding).tolist() == [True]
    assert collides(candidate, np.array([[1.0 + 3e-9]]), encoding).tolist() == [False]


@pytest.mark.parametrize("seed", range(10))
def test_the_last_untried_configuration_is_found(seed: int) -> None:
    # 231 configurations, 230 tried: 64 prior draws rarely find the last one, so the
    # untried ones are listed; listing them all instead could repeat a tried one.
    space: ah.Space[Any] = ah.compile_space(spaces.Ints)
    encoding = Encoding(space.dimensions)
    every = encoding.enumerate()
    last = every[(seed * 37) % every.shape[0]]
    tried = every[~np.all(every == last, axis=1)]
    found = novel_prior(encoding, space, np.random.default_rng(seed), tried)
    assert found is not None
    assert found.tolist() == last.tolist()


@attrs.frozen(kw_only=True)
class NoFields:
    pass


@attrs.frozen(kw_only=True)
class Big:
    seed: Annotated[int, ah.Int(0, 2**40)]


@attrs.frozen(kw_only=True)
class ManySmallBranchesAndOneHuge:
    choice: NoFields | Big
    flag: bool


def test_the_size_of_a_huge_discrete_space_is_counted_not_listed() -> None:
    # size() listed every Int grid: Int(0, 2**31 - 1) needed 16 GiB, once every small
    # branch was tried (the no-repeat search asks for the size).
    encoding = Encoding(ah.compile_space(ManySmallBranchesAndOneHuge).dimensions)
    assert encoding.size() == (1 + 2**40 + 1) * 2


@pytest.mark.parametrize("suggester", [ah.Random(), ah.TPE(n_startup=2)], ids=["random", "tpe"])
def test_an_exhausted_space_is_reported_once(
    suggester: ah.Suggester, caplog: pytest.LogCaptureFixture
) -> None:
    space: ah.Space[Any] = ah.compile_space(spaces.Ints)  # 231 configurations
    encoding = Encoding(space.dimensions)
    every = encoding.enumerate()
    history = ah.History(space)
    for row in every[:-1]:
        history.add(space.from_vector(row), float(row[0]))
    rng = np.random.default_rng(0)
    with caplog.at_level("WARNING", logger="asynchyper"):
        (last,) = suggester.suggest(space, history, [], rng)
        assert last == space.from_vector(every[-1])  # the untried one, no warning yet
        assert not caplog.records
        suggester.suggest(space, history, [last], rng, k=3)
    [record] = caplog.records
    assert record.levelname == "WARNING"
    assert "all 231 configurations of the space Ints have been tried or are running" in (
        record.getMessage()
    )
    assert "use trials=231 or fewer" in record.getMessage()
