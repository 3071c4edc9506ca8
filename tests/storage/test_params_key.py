"""params_key: the index key of a configuration agrees with the stores' equality."""

from __future__ import annotations

import math
import random

from hypothesis import given
from hypothesis import strategies as st

from asynchyper._storage._common import holds, params_key
from asynchyper._types import JSONScalar

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=False),
    st.sampled_from([0, 1, -0.0, 0.0, 1.0, True, False, 2**53, 2**53 + 1, float(2**53)]),
    # a fixed alphabet: the full Unicode one makes Hypothesis build a cache of its own on
    # the first draw, which a clean checkout reports as slow input generation
    st.text(alphabet="a\x00é\u0301\ud800:.", max_size=5),
)
params = st.dictionaries(st.sampled_from(["a", "b", "model:SVC.C", "é"]), scalars, max_size=4)


def same(left: dict[str, JSONScalar], right: dict[str, JSONScalar]) -> bool:
    """The stores' equality of two configurations (first_with_result's)."""
    return len(left) == len(right) and holds(left, right)


def twin(value: JSONScalar) -> JSONScalar:
    """Another value the stores find equal to ``value``."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return value
    if isinstance(value, int) and float(value) == value:
        return float(value)
    if isinstance(value, float) and value == 0.0:
        return -value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


@given(params, params)
def test_equal_configurations_have_equal_keys_and_only_they(
    left: dict[str, JSONScalar], right: dict[str, JSONScalar]
) -> None:
    assert (params_key(left) == params_key(right)) == same(left, right)


@given(params, st.randoms())
def test_key_order_and_the_type_of_an_equal_number_do_not_matter(
    config: dict[str, JSONScalar], rng: random.Random
) -> None:
    names = list(config)
    rng.shuffle(names)
    other = {name: twin(config[name]) for name in names}
    assert same(config, other)
    assert params_key(other) == params_key(config)


def test_a_key_is_16_bytes_and_nan_is_left_to_the_check() -> None:
    assert len(params_key({})) == 16
    nan: dict[str, JSONScalar] = {"x": math.nan}
    assert params_key(nan) == params_key({"x": math.nan})  # a hint...
    assert not same(nan, {"x": math.nan})  # ...that the check refuses
