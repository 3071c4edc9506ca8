"""Property tests over generated space classes (see ``generated.py``)."""

from __future__ import annotations

import copy
import json
import math
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

import asynchyper as ah

from .generated import build, expected_dimensions, numeric_leaves, space_specs

Spec = dict[str, Any]
TESTS_DIR = Path(__file__).resolve().parent.parent

# modest by default to keep the suite fast; raise it to hunt for bugs, e.g.
# ASYNCHYPER_SPACE_EXAMPLES=1000 pytest tests/space/test_space_properties.py
fast = settings(max_examples=int(os.environ.get("ASYNCHYPER_SPACE_EXAMPLES", "40")), deadline=None)


def _active(dims: list[dict[str, Any]], params: dict[str, Any]) -> set[str]:
    """Names that must be present: computed from the spec, not from the compiler."""
    active: set[str] = set()
    for dim in dims:
        parent = dim["parent"]
        if parent is None or (parent in active and params.get(parent) == dim["parent_choice"]):
            active.add(dim["name"])
    return active


def _check_value(dim: dict[str, Any], value: Any) -> None:
    if dim["kind"] == "categorical":
        keys = [json.dumps(c) for c in dim["choices"]]
        assert json.dumps(value) in keys, (dim, value)
        return
    if dim["kind"] == "int":
        assert type(value) is int, (dim, value)
    else:
        assert type(value) is float, (dim, value)
        assert math.isfinite(value)
    assert dim["low"] <= value <= dim["high"], (dim, value)
    step = dim["step"]
    if step is not None:
        k = (value - dim["low"]) / step
        assert abs(k - round(k)) < 1e-6, (dim, value)


def _check_params(dims: list[dict[str, Any]], params: dict[str, Any]) -> None:
    active = _active(dims, params)
    assert set(params) == active
    by_name = {d["name"]: d for d in dims}
    for name, value in params.items():
        _check_value(by_name[name], value)
    json.dumps(params)


@fast
@given(space_specs())
def test_compiles_to_the_declared_dimensions(spec: Spec) -> None:
    space: ah.Space[Any] = ah.compile_space(build(spec))
    expected = expected_dimensions(spec)
    got = [
        {
            "name": d.name,
            "kind": d.kind.value,
            "parent": d.parent,
            "parent_choice": d.parent_choice,
            "is_branch": d.is_branch,
            "choices": list(d.choices),
            **(
                {}
                if d.kind is ah.DimensionKind.CATEGORICAL
                else {"low": d.low, "high": d.high, "log": d.log, "step": d.step}
            ),
        }
        for d in space.dimensions
    ]
    # typing caches Annotated and Literal forms by equality, so a spec's -0.0 comes back
    # as the 0.0 of an equal form made earlier in the process (order-dependent).
    assert json.dumps(_signless_zeros(got), sort_keys=True) == json.dumps(
        _signless_zeros(expected), sort_keys=True
    )


def _signless_zeros(value: Any) -> Any:
    if isinstance(value, float):
        return value + 0.0  # -0.0 + 0.0 is 0.0
    if isinstance(value, list):
        return [_signless_zeros(item) for item in value]
    if isinstance(value, dict):
        return {key: _signless_zeros(item) for key, item in value.items()}
    return value


@fast
@given(space_specs(), st.integers(0, 2**32 - 1))
def test_samples_respect_the_space_and_round_trip(spec: Spec, seed: int) -> None:
    space: ah.Space[Any] = ah.compile_space(build(spec))
    dims = expected_dimensions(spec)
    rng = np.random.default_rng(seed)
    for _ in range(5):
        params = space.sample(rng)
        _check_params(dims, params)
        config = space.decode(params)
        assert isinstance(config, space.cls)
        assert space.encode(config) == params
        assert space.validate(params) == params
        assert space.from_vector(space.to_vector(params)) == params


@fast
@given(space_specs(), st.integers(0, 2**32 - 1))
def test_sample_vectors_respect_the_space_and_round_trip(spec: Spec, seed: int) -> None:
    space: ah.Space[Any] = ah.compile_space(build(spec))
    dims = expected_dimensions(spec)
    matrix = space.sample_vectors(np.random.default_rng(seed), 30)
    assert matrix.shape == (30, len(dims))
    assert np.array_equal(space.active_mask(matrix), ~np.isnan(matrix))
    rows = space.from_matrix(matrix)
    for vector, params in zip(matrix, rows, strict=True):
        _check_params(dims, params)
        assert space.from_vector(vector) == params
        assert space.encode(space.decode(params)) == params
    assert np.allclose(space.to_matrix(rows), matrix, equal_nan=True, rtol=1e-12, atol=0)


@fast
@given(space_specs(), st.integers(0, 2**32 - 1))
def test_from_vector_accepts_garbage_in_inactive_columns(spec: Spec, seed: int) -> None:
    space: ah.Space[Any] = ah.compile_space(build(spec))
    rng = np.random.default_rng(seed)
    matrix = space.sample_vectors(rng, 10)
    garbage = np.where(np.isnan(matrix), rng.normal(0, 1e6, matrix.shape), matrix)
    assert space.from_matrix(garbage) == space.from_matrix(matrix)
    for dirty, clean in zip(garbage, matrix, strict=True):
        assert space.from_vector(dirty) == space.from_vector(clean)


def _mutate_bound(spec: Spec, data: st.DataObject) -> Spec | None:
    mutated = copy.deepcopy(spec)
    leaves = list(numeric_leaves(mutated))
    if not leaves:
        return None
    leaf = data.draw(st.sampled_from(leaves))
    bound = data.draw(st.sampled_from(["low", "high"]))
    step = leaf.get("step") or 1
    if leaf["log"] and leaf.get("step") is not None:
        leaf["high"] += step  # a log grid keeps its low > 0 and its step dividing the range
    elif leaf["log"]:
        leaf[bound] = leaf[bound] * (0.5 if bound == "low" else 2.0)
    else:
        leaf[bound] += -step if bound == "low" else step
    return mutated


@fast
@given(space_specs(), st.data())
def test_fingerprint_is_stable_and_changes_with_any_bound(spec: Spec, data: st.DataObject) -> None:
    fingerprint = ah.compile_space(build(spec)).fingerprint
    assert ah.compile_space(build(spec)).fingerprint == fingerprint  # new classes, same space
    mutated = _mutate_bound(spec, data)
    if mutated is not None:
        assert ah.compile_space(build(mutated)).fingerprint != fingerprint


def _reverse_unions(spec: Spec) -> Spec:
    fields = []
    for field in spec["fields"]:
        t = field["type"]
        if t["kind"] == "union":
            t = {**t, "members": [_reverse_unions(m) for m in reversed(t["members"])]}
        elif t["kind"] == "nested":
            t = {**t, "cls": _reverse_unions(t["cls"])}
        fields.append({**field, "type": t})
    return {**spec, "fields": fields}


@fast
@given(space_specs())
def test_fingerprint_ignores_union_member_order(spec: Spec) -> None:
    reordered = _reverse_unions(spec)
    assert ah.compile_space(build(reordered)).fingerprint == (
        ah.compile_space(build(spec)).fingerprint
    )


_FINGERPRINT_SCRIPT = """
import json, sys
import asynchyper as ah
from space.generated import build
from space.space_examples import Space
specs = json.load(sys.stdin)
print(json.dumps([ah.compile_space(Space).fingerprint]
                 + [ah.compile_space(build(s)).fingerprint for s in specs]))
"""


def _fingerprints_in_subprocess(specs: list[Spec], hash_seed: str) -> list[str]:
    env = {**os.environ, "PYTHONHASHSEED": hash_seed}
    done = subprocess.run(
        [sys.executable, "-c", _FINGERPRINT_SCRIPT],
        input=json.dumps(specs),
        capture_output=True,
        text=True,
        cwd=TESTS_DIR,
        env=env,
        check=True,
    )
    result: list[str] = json.loads(done.stdout)
    return result


@settings(max_examples=1, deadline=None)
@given(st.lists(space_specs(), min_size=8, max_size=8))
def test_fingerprint_is_stable_across_processes(specs: list[Spec]) -> None:
    from .space_examples import Space  # noqa: PLC0415 - keeps the import next to its use

    here = [ah.compile_space(Space).fingerprint] + [
        ah.compile_space(build(s)).fingerprint for s in specs
    ]
    assert _fingerprints_in_subprocess(specs, "0") == here
    assert _fingerprints_in_subprocess(specs, "4242") == here


@fast
@given(space_specs(), st.integers(0, 2**32 - 1), st.data())
def test_part_of_a_configuration_is_kept_and_completed(
    spec: Spec, seed: int, data: st.DataObject
) -> None:
    space: ah.Space[Any] = ah.compile_space(build(spec))
    dims = expected_dimensions(spec)
    parents = {d["name"]: d["parent"] for d in space.describe()}
    rng = np.random.default_rng(seed)
    params = space.sample(rng)
    part = {name: value for name, value in params.items() if data.draw(st.booleans())}
    for name in list(part):  # a parameter inside a branch comes with its branch choice
        parent = parents[name]
        while parent is not None:
            part[str(parent)] = params[str(parent)]
            parent = parents[str(parent)]
    assert space.validate(part, partial=True) == part
    history = ah.History(space)
    for _ in range(12):
        history.add(space.sample(rng), float(rng.random()))
    for suggester in (ah.Random(), ah.TPE(n_startup=0), ah.TPE(multivariate=False)):
        whole = suggester.suggest_given(space, history, [space.sample(rng)], rng, part)
        _check_params(dims, whole)
        assert space.validate(whole) == whole
        assert {name: whole[name] for name in part} == part
    full = space.sample_vectors(np.random.default_rng(seed), 7, inactive=True)
    masked = space.sample_vectors(np.random.default_rng(seed), 7)
    assert not np.isnan(full).any()
    assert np.array_equal(np.where(np.isnan(masked), full, masked), full)
