"""Compiled spaces: names, sampling, vectors, encode/decode, describe, fingerprint."""

from __future__ import annotations

import json
import math
import pickle
from typing import Annotated

import attrs
import numpy as np
import pytest

import asynchyper as ah
from asynchyper._suggest._encoding import Encoding
from asynchyper._types import JSONScalar

from .space_examples import (
    PCA,
    RBF,
    SVM,
    Activation,
    Adam,
    Forest,
    Poly,
    ReorderedSpace,
    Space,
)

EXPECTED_NAMES = (
    "lr",
    "dropout",
    "model",
    "model:SVM.C",
    "model:SVM.kernel",
    "model:SVM.kernel_cfg",
    "model:SVM.kernel_cfg:Poly.degree",
    "model:SVM.kernel_cfg:RBF.gamma",
    "model:Forest.n_estimators",
    "model:Forest.bootstrap",
    "preproc",
    "preproc:PCA.n_components",
    "opt.lr",
    "opt.beta",
    "activation",
    "width",
)


@pytest.fixture
def space() -> ah.Space[Space]:
    return ah.compile_space(Space)


def test_names_and_order(space: ah.Space[Space]) -> None:
    assert space.names == EXPECTED_NAMES
    assert [d.name for d in space.dimensions] == list(EXPECTED_NAMES)
    assert space.index("model:SVM.C") == 3
    with pytest.raises(ah.ParameterError, match="no dimension named 'nope'"):
        space.index("nope")


def test_parents_come_before_children(space: ah.Space[Space]) -> None:
    seen: set[str] = set()
    for dim in space.dimensions:
        if dim.parent is not None:
            assert dim.parent in seen
        seen.add(dim.name)


def test_dimension_details(space: ah.Space[Space]) -> None:
    dims = {d.name: d for d in space.dimensions}
    assert dims["lr"].kind is ah.DimensionKind.FLOAT
    assert (dims["lr"].low, dims["lr"].high, dims["lr"].log) == (1e-5, 1e-1, True)
    assert dims["dropout"].step == 0.05
    model = dims["model"]
    assert model.is_branch
    assert model.choices == ("SVM", "Forest")
    assert model.parent is None
    assert dims["model:SVM.C"].parent == "model"
    assert dims["model:SVM.C"].parent_choice == "SVM"
    assert dims["model:SVM.C"].path == "Space.model[SVM].C"
    assert dims["model:SVM.kernel_cfg:Poly.degree"].parent == "model:SVM.kernel_cfg"
    assert dims["model:SVM.kernel_cfg:Poly.degree"].parent_choice == "Poly"
    assert dims["model:SVM.kernel_cfg"].parent == "model"
    assert dims["preproc"].choices == ("PCA", "None")
    assert dims["preproc:PCA.n_components"].step == 2
    assert dims["opt.lr"].parent is None
    assert dims["model:Forest.bootstrap"].choices == (False, True)
    assert dims["activation"].choices == ("RELU", "TANH")
    assert dims["width"].choices == (64, 128, 256)
    assert "seed" not in dims
    assert "tag" not in dims


def test_compile_is_cached() -> None:
    assert ah.compile_space(Space) is ah.compile_space(Space)


def test_sample_decode_encode_round_trip(space: ah.Space[Space]) -> None:
    rng = np.random.default_rng(0)
    kinds: set[str] = set()
    for _ in range(200):
        params = space.sample(rng)
        config = space.decode(params)
        assert isinstance(config, Space)
        assert space.encode(config) == params
        assert config.seed == 0
        assert config.tag == "default"
        assert isinstance(config.activation, Activation)
        assert isinstance(config.opt, Adam)
        kinds.add(type(config.model).__name__)
        if isinstance(config.model, SVM):
            kinds.add(type(config.model.kernel_cfg).__name__)
        kinds.add(type(config.preproc).__name__)
        json.dumps(params)
    assert kinds == {"SVM", "Forest", "Poly", "RBF", "PCA", "NoneType"}


def test_decode_builds_the_right_instance(space: ah.Space[Space]) -> None:
    params: dict[str, str | int | float | bool | None] = {
        "lr": 0.01,
        "dropout": 0.15,
        "model": "SVM",
        "model:SVM.C": 1.0,
        "model:SVM.kernel": "poly",
        "model:SVM.kernel_cfg": "Poly",
        "model:SVM.kernel_cfg:Poly.degree": 3,
        "preproc": "PCA",
        "preproc:PCA.n_components": 8,
        "opt.lr": 0.001,
        "opt.beta": 0.9,
        "activation": "TANH",
        "width": 128,
    }
    config = space.decode(params)
    assert config == Space(
        lr=0.01,
        dropout=0.15,
        model=SVM(C=1.0, kernel="poly", kernel_cfg=Poly(degree=3)),
        preproc=PCA(n_components=8),
        opt=Adam(0.001, 0.9),
        activation=Activation.TANH,
        width=128,
    )
    assert space.encode(config) == params


def test_sample_respects_bounds_and_activity(space: ah.Space[Space]) -> None:
    rng = np.random.default_rng(1)
    for _ in range(300):
        params = space.sample(rng)
        assert 1e-5 <= params["lr"] <= 1e-1  # type: ignore[operator]
        dropout = params["dropout"]
        assert isinstance(dropout, float)
        assert 0.0 <= dropout <= 0.5
        assert math.isclose(dropout / 0.05, round(dropout / 0.05), abs_tol=1e-9)
        assert ("model:SVM.C" in params) == (params["model"] == "SVM")
        assert ("model:Forest.bootstrap" in params) == (params["model"] == "Forest")
        assert ("preproc:PCA.n_components" in params) == (params["preproc"] == "PCA")
        if params["preproc"] == "PCA":
            n = params["preproc:PCA.n_components"]
            assert isinstance(n, int)
            assert 2 <= n <= 64
            assert n % 2 == 0
        if params["model"] == "Forest":
            n_est = params["model:Forest.n_estimators"]
            assert isinstance(n_est, int)
            assert 10 <= n_est <= 1000


def test_sample_vectors_shape_nan_and_from_vector(space: ah.Space[Space]) -> None:
    rng = np.random.default_rng(2)
    matrix = space.sample_vectors(rng, 500)
    assert matrix.shape == (500, len(space.names))
    mask = space.active_mask(matrix)
    assert np.array_equal(mask, ~np.isnan(matrix))
    svm = matrix[:, space.index("model")] == 0
    assert np.isnan(matrix[svm, space.index("model:Forest.bootstrap")]).all()
    assert not np.isnan(matrix[svm, space.index("model:SVM.C")]).any()
    rows = space.from_matrix(matrix)
    for row, params in zip(matrix, rows, strict=True):
        assert space.from_vector(row) == params
        space.validate(params)
        assert np.allclose(space.to_vector(params), row, equal_nan=True)
    assert np.allclose(space.to_matrix(rows), matrix, equal_nan=True)


def test_sample_vectors_log_int_covers_both_ends(space: ah.Space[Space]) -> None:
    matrix = space.sample_vectors(np.random.default_rng(3), 20_000)
    n_est = matrix[:, space.index("model:Forest.n_estimators")]
    n_est = n_est[~np.isnan(n_est)]
    assert n_est.min() == 10
    assert n_est.max() >= 950
    assert np.array_equal(n_est, np.rint(n_est))
    # log-uniform: about half the mass below the geometric mean (100)
    assert 0.45 < np.mean(n_est < 100) < 0.55


def test_from_vector_ignores_garbage_in_inactive_columns(space: ah.Space[Space]) -> None:
    vector = np.full(len(space.names), 1e9)
    vector[space.index("model")] = 1.2  # rounds to Forest
    vector[space.index("preproc")] = 7.0  # clips to the last choice: None
    vector[space.index("activation")] = -3.0  # clips to RELU
    vector[space.index("width")] = 1.0
    params = space.from_vector(vector)
    assert params["model"] == "Forest"
    assert params["model:Forest.n_estimators"] == 1000
    assert params["model:Forest.bootstrap"] is True
    assert params["preproc"] == "None"
    assert params["activation"] == "RELU"
    assert params["width"] == 128
    assert params["lr"] == 1e-1
    assert params["dropout"] == 0.5
    assert "model:SVM.C" not in params
    assert "preproc:PCA.n_components" not in params
    space.validate(params)


def test_from_vector_rounds_to_the_grid(space: ah.Space[Space]) -> None:
    vector = space.sample_vectors(np.random.default_rng(4), 1)[0]
    vector[space.index("dropout")] = 0.1624
    vector[space.index("preproc")] = 0
    vector[space.index("preproc:PCA.n_components")] = 7.2
    params = space.from_vector(vector)
    assert params["dropout"] == 0.15
    assert params["preproc:PCA.n_components"] == 8


def test_from_vector_rejects_nan_in_active_column(space: ah.Space[Space]) -> None:
    vector = space.sample_vectors(np.random.default_rng(5), 1)[0]
    vector[space.index("lr")] = np.nan
    with pytest.raises(ah.ParameterError, match="'lr'"):
        space.from_vector(vector)
    with pytest.raises(ah.ParameterError, match="shape"):
        space.from_vector(np.zeros(3))


def test_to_vector_encodes_indices(space: ah.Space[Space]) -> None:
    vector = space.sample_vectors(np.random.default_rng(6), 1)[0]
    vector[space.index("model")] = 1.0
    vector[space.index("model:Forest.n_estimators")] = 50.0
    vector[space.index("model:Forest.bootstrap")] = 0.0
    params = space.from_vector(vector)
    encoded = space.to_vector(params)
    assert encoded[space.index("model")] == 1.0
    assert encoded[space.index("width")] == [64, 128, 256].index(params["width"])  # type: ignore[arg-type]
    assert math.isnan(encoded[space.index("model:SVM.C")])
    assert encoded[space.index("model:Forest.bootstrap")] in (0.0, 1.0)


def test_numpy_strings_are_accepted_as_choices(space: ah.Space[Space]) -> None:
    # rng.choice(["a", "b"]) returns numpy.str_: a custom suggester's natural output.
    params = dict(space.sample(np.random.default_rng(8)))
    as_numpy = {**params, "model": np.str_(params["model"])}
    assert space.validate(as_numpy) == space.validate(params)
    assert space.decode(as_numpy) == space.decode(params)
    assert np.array_equal(space.to_vector(as_numpy), space.to_vector(params), equal_nan=True)


def test_sample_and_sample_vectors_share_the_stream(space: ah.Space[Space]) -> None:
    one = space.sample(np.random.default_rng(7))
    vector = space.sample_vectors(np.random.default_rng(7), 1)[0]
    other = space.from_vector(vector)
    assert one.keys() == other.keys()
    for name, value in one.items():
        if isinstance(value, float):
            assert math.isclose(value, other[name], rel_tol=1e-12)  # type: ignore[arg-type]
        else:
            assert value == other[name]


def test_describe_is_json_safe(space: ah.Space[Space]) -> None:
    description = space.describe()
    assert json.loads(json.dumps(description)) == description
    by_name = {d["name"]: d for d in description}
    assert by_name["model:SVM.C"] == {
        "name": "model:SVM.C",
        "path": "Space.model[SVM].C",
        "kind": "float",
        "low": 1e-3,
        "high": 1e3,
        "log": True,
        "step": None,
        "choices": [],
        "is_branch": False,
        "parent": "model",
        "parent_choice": "SVM",
    }
    assert by_name["model"]["choices"] == ["SVM", "Forest"]


def test_fingerprint_ignores_union_member_order(space: ah.Space[Space]) -> None:
    other = ah.compile_space(ReorderedSpace)
    assert other.names != space.names
    assert other.fingerprint == space.fingerprint
    assert len(space.fingerprint) == 64
    int(space.fingerprint, 16)


def test_optional_branch_decodes_none(space: ah.Space[Space]) -> None:
    sampled = space.sample(np.random.default_rng(8))
    params = {k: v for k, v in sampled.items() if not k.startswith("preproc")}
    params["preproc"] = "None"
    assert space.decode(params).preproc is None


def test_encode_rejects_out_of_bounds(space: ah.Space[Space]) -> None:
    config = space.decode(space.sample(np.random.default_rng(9)))
    bad = Space(
        lr=5.0,
        dropout=config.dropout,
        model=Forest(n_estimators=10, bootstrap=False),
        preproc=None,
        opt=config.opt,
        activation=config.activation,
        width=config.width,
    )
    with pytest.raises(ah.ParameterError, match=r"'lr' = 5.0 is out of bounds"):
        space.encode(bad)
    with pytest.raises(ah.ParameterError, match="expected an instance of Space"):
        space.encode(RBF(gamma=0.1))  # type: ignore[arg-type]


def test_repr_and_pickle(space: ah.Space[Space]) -> None:
    assert repr(space) == "Space(Space, 16 dimensions)"
    assert pickle.loads(pickle.dumps(space)) is space


def test_active_mask_of_one_vector(space: ah.Space[Space]) -> None:
    vector = space.sample_vectors(np.random.default_rng(10), 1)[0]
    assert np.array_equal(space.active_mask(vector), ~np.isnan(vector))


def test_encode_accepts_subclasses_of_branch_members(space: ah.Space[Space]) -> None:
    @attrs.frozen(kw_only=True)
    class BigForest(Forest):
        pass

    config = space.decode(space.sample(np.random.default_rng(11)))
    forest = attrs.evolve(config, model=BigForest(n_estimators=20, bootstrap=True))
    params = space.encode(forest)
    assert params["model"] == "Forest"
    assert params["model:Forest.n_estimators"] == 20


@attrs.frozen(kw_only=True)
class WideBounds:
    lr: Annotated[float, ah.Float(1e-8, 1e4, log=True)]
    n: Annotated[int, ah.Int(0, 10**12)]


def test_values_just_outside_wide_bounds_are_refused_not_clamped() -> None:
    # The slack at the bounds scaled with the larger bound: a log range reaching 1e4
    # let 0.0 in, an int range reaching 1e12 let high + 1 in, and both were clamped.
    space = ah.compile_space(WideBounds)
    for params in ({"lr": 0.0, "n": 5}, {"lr": 1e-9, "n": 5}, {"lr": 1.0, "n": 10**12 + 1}):
        with pytest.raises(ah.ParameterError, match="out of bounds"):
            space.validate(params)
    with pytest.raises(ah.ParameterError, match="out of bounds"):
        space.encode(WideBounds(lr=1.0, n=10**12 + 1))
    # exp(log(bound)) rounding still lands inside
    assert space.validate({"lr": 1e4 * (1 + 1e-15), "n": 10**12}) == {"lr": 1e4, "n": 10**12}


@attrs.frozen(kw_only=True)
class FarGrid:
    x: Annotated[float, ah.Float(1e14, 1e14 + 1, step=0.25)]


def test_a_grid_far_from_zero_keeps_every_point() -> None:
    # 15 significant digits at 1e14 rounded the quarter steps away.
    space = ah.compile_space(FarGrid)
    points = [1e14 + k * 0.25 for k in range(5)]
    assert [space.validate({"x": x})["x"] for x in points] == points
    rng = np.random.default_rng(0)
    assert sorted({float(space.sample(rng)["x"] or 0) for _ in range(200)}) == points


@attrs.frozen(kw_only=True)
class TwoZeros:
    c: Annotated[float, ah.Categorical([0.0, -0.0])]


@attrs.frozen(kw_only=True)
class HugeStep:
    x: Annotated[float, ah.Float(0.0, 1.0, step=10**400)]


def test_equal_zeros_and_a_step_beyond_floats_are_declaration_errors() -> None:
    with pytest.raises(ExceptionGroup) as group:
        ah.compile_space(TwoZeros)
    assert "choices 0.0 and -0.0 are equal" in str(group.value.exceptions[0])
    with pytest.raises(ExceptionGroup) as group:
        ah.compile_space(HugeStep)
    (error,) = group.value.exceptions
    assert isinstance(error, ah.SpaceDeclarationError)
    assert "step must be a positive finite number" in str(error)


def test_a_loss_beyond_floats_is_a_suggester_error() -> None:
    history = ah.History(ah.compile_space(FarGrid))
    with pytest.raises(ah.SuggesterError, match="finite number"):
        history.add({"x": 1e14}, 10**400)


@attrs.frozen(kw_only=True)
class _Small:
    n: Annotated[int, ah.Int(0, 3)]
    m: Annotated[int, ah.Int(0, 30, step=10)]


def test_sampling_reaches_every_int_and_every_step_evenly() -> None:
    # The top of an int range (and of a stepped one) was never drawn by an off-by-one.
    space = ah.compile_space(_Small)
    rng = np.random.default_rng(0)
    draws = [space.sample(rng) for _ in range(2000)]
    vectors = space.sample_vectors(rng, 2000)
    for name, values in (("n", [0, 1, 2, 3]), ("m", [0, 10, 20, 30])):
        counts = {v: sum(d[name] == v for d in draws) for v in values}
        assert min(counts.values()) > 400, counts
        column = vectors[:, space.index(name)]
        assert sorted(set(column.tolist())) == values


@attrs.frozen(kw_only=True)
class _LogGrid:
    batch: Annotated[int, ah.Int(8, 64, log=True, step=8)]
    lr: Annotated[float, ah.Float(0.01, 0.1, log=True, step=0.01)]


def _log_cell_shares(grid: list[float], step: float) -> list[float]:
    """Each grid value's share of the log range between the midpoints around it
    (the first and last cells reach half a step beyond the ends)."""
    edges = [max(grid[0] - step / 2, grid[0] / 2), *[v + step / 2 for v in grid]]
    widths = np.diff(np.log(edges))
    return list(widths / widths.sum())


@pytest.mark.parametrize(
    ("name", "grid", "step"),
    [
        ("batch", [8, 16, 24, 32, 40, 48, 56, 64], 8),
        ("lr", [round(0.01 * k, 2) for k in range(1, 11)], 0.01),
    ],
)
def test_log_with_step_draws_each_grid_value_by_its_log_share(
    name: str, grid: list[float], step: float
) -> None:
    # Hyperopt's qloguniform: log-uniform, then rounded to the grid. 8 gets
    # log(12 / 4) / log(68 / 4) = 39 % of the draws and 64 gets 2 %.
    space = ah.compile_space(_LogGrid)
    rng = np.random.default_rng(1)
    n = 20_000
    scalars = [space.sample(rng)[name] for _ in range(n)]
    column = space.sample_vectors(rng, n)[:, space.index(name)].tolist()
    expected = _log_cell_shares(grid, step)
    for draws in (scalars, column):
        assert set(draws) == set(grid)
        shares = [draws.count(value) / n for value in grid]
        # binomial standard error is at most 0.0035 here: 5 of them
        assert np.allclose(shares, expected, atol=0.018), (shares, expected)
    assert all(type(v) is type(grid[0]) for v in scalars)
    with pytest.raises(ah.ParameterError, match="grid"):
        space.validate({"batch": 12, "lr": 0.02})
    assert space.validate({"batch": 16, "lr": 0.03 + 1e-15})["lr"] == 0.03


@attrs.frozen(kw_only=True)
class _LowAtHalfStep:
    f: Annotated[float, ah.Float(0.05, 1.05, log=True, step=0.1)]
    i: Annotated[int, ah.Int(50, 1050, log=True, step=100)]


@attrs.frozen(kw_only=True)
class _LowJustAboveHalfStep:
    f: Annotated[float, ah.Float(0.0501, 1.0501, log=True, step=0.1)]
    i: Annotated[int, ah.Int(51, 1051, log=True, step=100)]


def _shares_of_low(cls: type[object]) -> list[float]:
    space: ah.Space[object] = ah.compile_space(cls)
    matrix = space.sample_vectors(np.random.default_rng(3), 20_000)
    encoding = Encoding(space.dimensions)
    shares = []
    for j, dim in enumerate(space.dimensions):
        # the suggesters' unit interval is the one the prior draws on
        assert dim.low is not None
        assert dim.step is not None
        edge = max(dim.low - dim.step / 2, dim.low / 2)
        assert encoding.inner_low[j] == pytest.approx(math.log(edge))
        shares.append(float(np.mean(matrix[:, j] == dim.low)))
    return shares


def test_log_grid_share_of_low_has_no_jump_just_above_half_a_step() -> None:
    # The lower edge is max(low - step / 2, low / 2): low - step / 2 alone tends to 0
    # as low nears step / 2 from above, and the share of low to 100 % (74 % and 66 %
    # for these two, against 37 % at low = step / 2).
    at_half, above = _shares_of_low(_LowAtHalfStep), _shares_of_low(_LowJustAboveHalfStep)
    assert np.allclose(at_half, above, atol=0.03), (at_half, above)


@attrs.frozen(kw_only=True)
class _LongDigits:
    # bounds with more than the 15 digits a grid value keeps (computed, say)
    lin: Annotated[float, ah.Float(0.021310499283648428, 46.571310499283655, step=0.01)]
    log: Annotated[float, ah.Float(4.168783803585246, 5192.668783803585, log=True, step=1.5)]


def test_scalar_and_vector_grids_are_the_same_floats() -> None:
    # sample()/from_vector/validate round with _grid, sample_vectors/from_matrix with
    # _grid_column: round(x, 13) and np.round(x, 13) differed by an ulp at 14 % of points.
    space = ah.compile_space(_LongDigits)
    for codec in space._codecs:
        k = np.arange(codec.steps + 1, dtype=np.float64)
        assert [codec._grid(int(i)) for i in k] == codec._grid_column(k).tolist()
    u = np.random.default_rng(0).random((2000, 2))
    columns = [c.column_from_unit(u[:, c.column]) for c in space._codecs]
    rows = space.from_matrix(np.column_stack(columns))
    for row, draw in zip(rows, u.tolist(), strict=True):
        assert row == {c.name: c.draw_value(draw[c.column]) for c in space._codecs}
        assert space.validate(row) == row


@attrs.frozen(kw_only=True)
class _Edges:
    lr: Annotated[float, ah.Float(1e-4, 1.0, log=True)]
    drop: Annotated[float, ah.Float(0.0, 0.5, step=0.1)]


def test_validation_allows_only_rounding_slack_at_a_log_bound_and_off_a_grid() -> None:
    # exp(log(high)) may land 1e-16 above high: accepted; a millionth above is a value
    # out of bounds. A grid value a thousandth of a step off is not on the grid.
    space = ah.compile_space(_Edges)
    assert space.validate({"lr": 1.0 + 1e-15, "drop": 0.3})["lr"] == 1.0
    with pytest.raises(ah.ParameterError, match="out of bounds"):
        space.validate({"lr": 1.0 + 1e-9, "drop": 0.3})
    assert space.validate({"lr": 0.5, "drop": 0.3 + 1e-9})["drop"] == 0.3
    with pytest.raises(ah.ParameterError, match="grid"):
        space.validate({"lr": 0.5, "drop": 0.3 + 1e-4})


@attrs.frozen(kw_only=True)
class Leaf:
    y: Annotated[float, ah.Float(0.0, 1.0)]


@attrs.frozen(kw_only=True)
class Middle:
    inner: Leaf | None


@attrs.frozen(kw_only=True)
class Outer:
    outer: Middle | None


def test_a_partial_configuration_names_the_branch_choices_it_lacks() -> None:
    space = ah.compile_space(Outer)
    given: dict[str, JSONScalar] = {"outer:Middle.inner": "Leaf", "outer:Middle.inner:Leaf.y": 0.5}
    with pytest.raises(ah.ParameterError) as caught:
        space.validate(given, partial=True)
    message = str(caught.value)
    assert "give its branch choice too ('outer': 'Middle')" in message
    assert "under 'outer:Middle.inner', which is itself inactive or invalid" in message
    assert "remove it" not in message  # it is right once the choices above are given
    whole: dict[str, JSONScalar] = {"outer": "Middle", **given}
    assert space.validate(whole, partial=True) == whole
