"""Invalid declarations fail at compile time; invalid parameters fail on decode."""

from __future__ import annotations

import dataclasses
import enum
from typing import Annotated, Any, Literal

import annotated_types as at
import attrs
import numpy as np
import pytest

import asynchyper as ah

from .space_examples import Space


def _problems(cls: type) -> dict[str, list[str]]:
    """Compile ``cls``, expecting failure; return messages grouped by path."""
    with pytest.raises(ExceptionGroup) as info:
        ah.compile_space(cls)
    group = info.value
    found: dict[str, list[str]] = {}
    for error in group.exceptions:
        assert isinstance(error, ah.SpaceDeclarationError)
        assert isinstance(error, ah.AsynchyperError)
        assert isinstance(error, TypeError)
        found.setdefault(error.path, []).append(str(error))
    return found


def _only(cls: type, path: str) -> str:
    found = _problems(cls)
    assert list(found) == [path]
    [message] = found[path]
    assert message.startswith(f"{path}: ")
    return message


class Empty(enum.Enum):
    pass


class Color(enum.Enum):
    RED = 1


@attrs.define
class MissingMarker:
    x: float


def test_missing_marker() -> None:
    message = _only(MissingMarker, "MissingMarker.x")
    assert "no distribution" in message
    assert "Annotated[float, ah.Float(low, high)]" in message


@attrs.define
class MissingMarkers:
    n: int
    s: str
    other: list[int]


def test_missing_marker_on_other_types() -> None:
    found = _problems(MissingMarkers)
    assert "ah.Int(low, high)" in found["MissingMarkers.n"][0]
    assert "Literal" in found["MissingMarkers.s"][0]
    assert "give it a default" in found["MissingMarkers.other"][0]


@attrs.define
class WrongMarker:
    n: Annotated[int, ah.Float(0.0, 1.0)]
    x: Annotated[float, ah.Int(0, 10)]


def test_wrong_marker_type() -> None:
    found = _problems(WrongMarker)
    assert "ah.Float marker on a field of type int; use ah.Int" in found["WrongMarker.n"][0]
    assert "ah.Int marker on a field of type float; use ah.Float" in found["WrongMarker.x"][0]


@attrs.define
class BadBounds:
    x: Annotated[float, ah.Float(1.0, 1.0)]
    n: Annotated[int, ah.Int(5, 2)]


def test_low_not_below_high() -> None:
    found = _problems(BadBounds)
    assert "low=1.0 >= high=1.0; make low < high" in found["BadBounds.x"][0]
    assert "low=5 >= high=2; make low < high" in found["BadBounds.n"][0]


@attrs.define
class BadLog:
    x: Annotated[float, ah.Float(0.0, 1.0, log=True)]
    n: Annotated[int, ah.Int(0, 10, log=True)]


def test_log_needs_positive_low() -> None:
    found = _problems(BadLog)
    assert "log=True needs low > 0, got low=0.0" in found["BadLog.x"][0]
    assert "drop log=True" in found["BadLog.x"][0]
    assert "log=True needs low >= 1, got low=0" in found["BadLog.n"][0]


@attrs.define
class BadStep:
    x: Annotated[float, ah.Float(0.0, 1.0, step=0.3)]
    n: Annotated[int, ah.Int(0, 10, step=3)]
    z: Annotated[float, ah.Float(0.0, 1.0, step=-0.5)]


def test_step_must_divide_the_range() -> None:
    found = _problems(BadStep)
    assert "step=0.3 does not divide high - low = 1" in found["BadStep.x"][0]
    assert "use high=0.9 or high=1.2" in found["BadStep.x"][0]
    assert "step=3 does not divide high - low = 10; use high=9 or high=12" in found["BadStep.n"][0]
    assert "step must be a positive number, got step=-0.5" in found["BadStep.z"][0]


@attrs.define
class LogAndStep:
    x: Annotated[float, ah.Float(1.0, 10.0, log=True, step=1.0)]
    n: Annotated[int, ah.Int(1, 9, log=True, step=2)]


def test_log_with_step() -> None:
    found = _problems(LogAndStep)
    assert "log=True together with step=1.0 is not supported on floats" in found["LogAndStep.x"][0]
    assert "drop one of them" in found["LogAndStep.x"][0]
    assert "log=True together with step=2 is not supported on ints" in found["LogAndStep.n"][0]


@dataclasses.dataclass
class DataModel:
    x: float


@attrs.define
class Model:
    y: Annotated[float, ah.Float(0.0, 1.0)]


@attrs.define
class BadUnion:
    model: Model | DataModel
    value: int | None


def test_union_member_not_attrs() -> None:
    found = _problems(BadUnion)
    assert "union member DataModel is not an attrs class" in found["BadUnion.model"][0]
    assert "union member int is not an attrs class" in found["BadUnion.value"][0]
    assert "Literal" in found["BadUnion.value"][0]


@attrs.define
class EmptyChoices:
    lit: Literal[()]  # type: ignore[valid-type]
    cat: Annotated[str, ah.Categorical([])]
    enum_: Empty


def test_empty_choices() -> None:
    found = _problems(EmptyChoices)
    assert "Literal has no choices" in found["EmptyChoices.lit"][0]
    assert "Categorical has no choices" in found["EmptyChoices.cat"][0]
    assert "Enum has no choices" in found["EmptyChoices.enum_"][0]


@attrs.define
class NonJSON:
    raw: Literal[b"bytes"]
    member: Literal[Color.RED]
    cat: Annotated[Any, ah.Categorical([1, float("nan")])]
    dup: Annotated[Any, ah.Categorical([1, 2, 1])]


def test_non_json_choices() -> None:
    found = _problems(NonJSON)
    assert "Literal value(s) [b'bytes'] are not JSON scalars" in found["NonJSON.raw"][0]
    assert "use an Enum" in found["NonJSON.member"][0]
    assert "are not JSON scalars" in found["NonJSON.cat"][0]
    assert "choice 1 appears twice" in found["NonJSON.dup"][0]


def test_class_that_is_not_attrs() -> None:
    message = _only(DataModel, "DataModel")
    assert "is not an attrs class; decorate it with @attrs.define" in message


@attrs.define
class NestedNotAttrs:
    inner: DataModel


def test_nested_class_that_is_not_attrs() -> None:
    message = _only(NestedNotAttrs, "NestedNotAttrs.inner")
    assert "DataModel is not an attrs class; decorate it with @attrs.define" in message


def test_unresolvable_forward_reference() -> None:
    @attrs.define
    class Local:
        y: Annotated[float, ah.Float(0.0, 1.0)]

    @attrs.define
    class UsesLocal:
        ok: Annotated[float, ah.Float(0.0, 1.0)]
        local: Local

    message = _only(UsesLocal, "UsesLocal.local")
    assert "cannot resolve the annotation 'Local'" in message
    assert "define the class at module level" in message


@attrs.define
class SVM:
    C: Annotated[float, ah.Float(0.1, 1.0)]


def _other_svm() -> type:
    @attrs.define
    class SVM:  # same __name__ as the module-level SVM
        gamma: Annotated[float, ah.Float(0.1, 1.0)]

    return SVM


OtherSVM: Any = _other_svm()


@attrs.define
class DuplicateTags:
    model: SVM | OtherSVM


def test_duplicate_branch_tags() -> None:
    message = _only(DuplicateTags, "DuplicateTags.model")
    assert "union has 2 members named 'SVM'" in message
    assert "rename one of the classes" in message


@attrs.define
class Recursive:
    child: Recursive | None


def test_recursive_class() -> None:
    message = _only(Recursive, "Recursive.child[Recursive]")
    assert "recursive spaces are not supported" in message


@attrs.define
class TwoMarkers:
    x: Annotated[float, ah.Float(0.0, 1.0), ah.Float(0.0, 2.0)]


def test_two_markers() -> None:
    assert "keep exactly one" in _only(TwoMarkers, "TwoMarkers.x")


@attrs.define
class Branch:
    bad: Annotated[float, ah.Float(2.0, 1.0)]
    missing: float


@attrs.define
class Everything:
    ok: Annotated[float, ah.Float(0.0, 1.0)]
    x: float
    n: Annotated[int, ah.Float(0.0, 1.0)]
    model: Branch | Model
    lit: Literal[()]  # type: ignore[valid-type]


def test_all_problems_are_reported_at_once() -> None:
    found = _problems(Everything)
    assert sorted(found) == [
        "Everything.lit",
        "Everything.model[Branch].bad",
        "Everything.model[Branch].missing",
        "Everything.n",
        "Everything.x",
    ]
    with pytest.raises(ExceptionGroup, match="invalid search space Everything: 5 problems"):
        ah.compile_space(Everything)


def test_errors_can_be_caught_with_except_star() -> None:
    caught: list[ah.SpaceDeclarationError] = []
    try:
        ah.compile_space(BadBounds)
    except* ah.SpaceDeclarationError as group:
        caught.extend(e for e in group.exceptions if isinstance(e, ah.SpaceDeclarationError))
    assert {e.path for e in caught} == {"BadBounds.x", "BadBounds.n"}


# -- parameters that do not fit --------------------------------------------------------
@pytest.fixture
def space() -> ah.Space[Space]:
    return ah.compile_space(Space)


@pytest.fixture
def forest_params(space: ah.Space[Space]) -> dict[str, Any]:
    vector = space.sample_vectors(np.random.default_rng(0), 1)[0]
    vector[space.index("model")] = 1
    vector[space.index("model:Forest.n_estimators")] = 100
    vector[space.index("model:Forest.bootstrap")] = 1
    vector[space.index("preproc")] = 1
    return dict(space.from_vector(vector))


def test_valid_params_decode(space: ah.Space[Space], forest_params: dict[str, Any]) -> None:
    assert space.validate(forest_params) == forest_params
    space.decode(forest_params)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"bogus": 1}, r"unknown parameter 'bogus' = 1; known names: \[.lr., "),
        ({"lr": 2.0}, r"parameter 'lr' = 2.0 is out of bounds; allowed: \[1e-05, 0.1\]"),
        ({"lr": "0.01"}, "parameter 'lr' = '0.01' has type str; expected a float"),
        ({"lr": float("nan")}, "parameter 'lr' = nan is not finite"),
        ({"lr": True}, "parameter 'lr' = True has type bool"),
        ({"dropout": 0.12}, r"'dropout' = 0.12 is off the step grid; allowed: 0.0 \+ k \* 0.05"),
        ({"model:Forest.n_estimators": 5}, r"= 5 is out of bounds; allowed: \[10, 1000\]"),
        ({"model:Forest.n_estimators": 50.0}, "= 50.0 has type float; expected an int"),
        ({"model:Forest.bootstrap": 1}, r"= 1 is not one of the allowed choices \[False, True\]"),
        ({"activation": "SIGMOID"}, r"'SIGMOID' is not one of the allowed choices \['RELU'"),
        (
            {"model": "Tree"},
            r"'model' = 'Tree' is not one of the allowed choices \['SVM', 'Forest'",
        ),
        (
            {"model:SVM.C": 1.0},
            "'model:SVM.C' = 1.0 belongs to branch model='SVM', which is inactive "
            r"\(model='Forest'\); remove it",
        ),
        (
            {"preproc:PCA.n_components": 4},
            "belongs to branch preproc='PCA', which is inactive",
        ),
    ],
)
def test_bad_params(
    space: ah.Space[Space], forest_params: dict[str, Any], change: dict[str, Any], message: str
) -> None:
    params = {**forest_params, **change}
    with pytest.raises(ah.ParameterError, match=message):
        space.validate(params)
    with pytest.raises(ah.ParameterError, match=message):
        space.decode(params)


def test_missing_active_param(space: ah.Space[Space], forest_params: dict[str, Any]) -> None:
    del forest_params["model:Forest.bootstrap"]
    with pytest.raises(
        ah.ParameterError,
        match=r"missing active parameter 'model:Forest.bootstrap'; expected one of \[False, True\]",
    ):
        space.decode(forest_params)


def test_switching_branch_needs_the_new_branch(
    space: ah.Space[Space], forest_params: dict[str, Any]
) -> None:
    forest_params["model"] = "SVM"
    with pytest.raises(ah.ParameterError) as info:
        space.decode(forest_params)
    text = str(info.value)
    assert text.startswith("5 problems with parameters for Space:")
    assert "'model:Forest.n_estimators' = 100 belongs to branch model='Forest'" in text
    assert "missing active parameter 'model:SVM.C'" in text
    assert "missing active parameter 'model:SVM.kernel_cfg'" in text


def test_params_errors_are_value_errors() -> None:
    assert issubclass(ah.ParameterError, ValueError)
    assert issubclass(ah.ParameterError, ah.SearchSpaceError)


@attrs.define
class Picky:
    x: Annotated[float, ah.Float(0.0, 1.0)] = attrs.field(
        validator=attrs.validators.le(0.5), default=0.1
    )


def test_class_validators_become_parameter_errors() -> None:
    space = ah.compile_space(Picky)
    assert space.decode({"x": 0.25}) == Picky(0.25)
    with pytest.raises(ah.ParameterError, match=r"Picky\(\*\*\{'x': 0.75\}\) rejected"):
        space.decode({"x": 0.75})


@attrs.define
class BadAnnotatedTypes:
    one_sided: Annotated[float, at.Ge(0.0)]
    on_text: Annotated[str, at.Interval(ge=0, le=1)]
    both: Annotated[float, at.Interval(ge=0, le=1), ah.Float(0.0, 1.0)]
    empty: Annotated[int, at.Interval(ge=3, le=3)]


def test_bad_annotated_types_bounds() -> None:
    found = _problems(BadAnnotatedTypes)
    assert (
        "give no finite range; use Interval(ge=low, le=high)"
        in found["BadAnnotatedTypes.one_sided"][0]
    )
    assert "annotate the field as float or int" in found["BadAnnotatedTypes.on_text"][0]
    assert "keep only one" in found["BadAnnotatedTypes.both"][0]
    assert "low=3 >= high=3" in found["BadAnnotatedTypes.empty"][0]


def test_compile_something_that_is_not_a_class() -> None:
    with pytest.raises(ExceptionGroup) as info:
        ah.compile_space(42)  # type: ignore[arg-type]
    [error] = info.value.exceptions
    assert "42 is not an attrs class" in str(error)


@attrs.define
class NonNumericBounds:
    x: Annotated[float, ah.Float("0", 1.0)]
    n: Annotated[int, ah.Int(0, 2.5)]
    inf: Annotated[float, ah.Float(0.0, float("inf"))]


def test_non_numeric_bounds() -> None:
    found = _problems(NonNumericBounds)
    assert "Float bounds must be numbers, got low='0'" in found["NonNumericBounds.x"][0]
    assert "Int low, high and step must be ints" in found["NonNumericBounds.n"][0]
    assert "Float bounds must be finite" in found["NonNumericBounds.inf"][0]


def test_encode_rejects_values_outside_the_declared_types(space: ah.Space[Space]) -> None:
    config = space.decode(space.sample(np.random.default_rng(3)))
    with pytest.raises(ah.ParameterError, match="is not a member of Activation"):
        space.encode(attrs.evolve(config, activation="RELU"))  # type: ignore[arg-type]
    with pytest.raises(ah.ParameterError, match=r"is not one of the union's members \['SVM'"):
        space.encode(attrs.evolve(config, model=42))  # type: ignore[arg-type]
    with pytest.raises(ah.ParameterError, match="'width' = 100 is not one of the allowed choices"):
        space.encode(attrs.evolve(config, width=100))


def test_vector_shape_and_type_errors(space: ah.Space[Space]) -> None:
    with pytest.raises(ah.ParameterError, match=r"matrix of shape \(3,\) given"):
        space.from_matrix(np.zeros(3))
    with pytest.raises(ah.ParameterError, match="'lr' = 'big' has type str"):
        space.to_vector({"lr": "big"})
    with pytest.raises(ah.ParameterError, match="'model' = 'Tree' is not one of"):
        space.to_matrix([{"model": "Tree"}])
    matrix = space.sample_vectors(np.random.default_rng(0), 4)
    matrix[2, space.index("lr")] = np.inf
    with pytest.raises(ah.ParameterError, match=r"matrix entry \[2, 0\] \('lr'\) is inf"):
        space.from_matrix(matrix)
