"""Enum members as choices of a ``Literal`` or an ``ah.Categorical``: stored by name,
decoded back to the member, like an ``Enum`` field."""

from __future__ import annotations

import enum
import json
from typing import Annotated, Any, Literal

import attrs
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import asynchyper as ah


class Mode(enum.StrEnum):
    """A str enum: its members are also strings, which JSON flattens to their value."""

    A = "a"
    B = "b"
    C = "c"


class Level(enum.IntEnum):
    """An int enum: its members are also ints."""

    LOW = 1
    HIGH = 2


class Act(enum.Enum):
    """A plain enum."""

    RELU = "relu"
    GELU = "gelu"


@attrs.frozen(kw_only=True)
class Members:
    mode: Literal[Mode.A, Mode.B]
    level: Literal[Level.LOW, Level.HIGH, None]
    act: Annotated[Act, ah.Categorical([Act.GELU])]
    mixed: Annotated[object, ah.Categorical([Act.RELU, "x", 3])]
    every: Annotated[Act, ah.Categorical(list(Act))] = Act.RELU


def _json(params: dict[str, Any]) -> dict[str, Any]:
    """What storage gives back: the parameters after a JSON round trip."""
    loaded: dict[str, Any] = json.loads(json.dumps(params))
    return loaded


def test_members_are_stored_by_name() -> None:
    space = ah.compile_space(Members)
    dims = {d.name: d for d in space.dimensions}
    assert dims["mode"].choices == ("A", "B")
    assert dims["level"].choices == ("LOW", "HIGH", None)
    assert dims["act"].choices == ("GELU",)
    assert dims["mixed"].choices == ("RELU", "x", 3)
    assert dims["every"].choices == ("RELU", "GELU")


def test_members_decode_back_to_the_member_after_json() -> None:
    space = ah.compile_space(Members)
    params = {"mode": "B", "level": "LOW", "act": "GELU", "mixed": "RELU", "every": "GELU"}
    config = space.decode(_json(params))
    assert config.mode is Mode.B
    assert config.level is Level.LOW
    assert config.act is Act.GELU
    assert config.mixed is Act.RELU
    assert config.every is Act.GELU
    assert space.encode(config) == params
    assert space.decode({**params, "level": None, "mixed": 3}).level is None


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 2**32 - 1))
def test_sample_json_decode_encode_round_trip(seed: int) -> None:
    space = ah.compile_space(Members)
    params = space.sample(np.random.default_rng(seed))
    assert _json(params) == params
    config = space.decode(_json(params))
    assert isinstance(config.mode, Mode)
    assert isinstance(config.act, Act)
    assert space.encode(config) == params


def test_values_of_members_are_not_choices() -> None:
    space = ah.compile_space(Members)
    good = {"mode": "A", "level": "LOW", "act": "GELU", "mixed": "x", "every": "RELU"}
    with pytest.raises(ah.ParameterError, match=r"'mode' = 'a' is not one of .*\['A', 'B'\]"):
        space.decode({**good, "mode": "a"})
    with pytest.raises(ah.ParameterError, match="'level' = 1 is not one of"):
        space.decode({**good, "level": 1})


def test_encode_rejects_a_member_that_is_not_a_choice() -> None:
    space = ah.compile_space(Members)
    config = Members(mode=Mode.A, level=None, act=Act.GELU, mixed="x")
    with pytest.raises(ah.ParameterError, match=r"'mode' = <Mode.C: 'c'> is not one of"):
        space.encode(attrs.evolve(config, mode=Mode.C))  # type: ignore[arg-type]
    with pytest.raises(ah.ParameterError, match="'mode' = 'a' is not one of"):
        space.encode(attrs.evolve(config, mode="a"))  # type: ignore[arg-type]
    with pytest.raises(ah.ParameterError, match=r"'act' = <Act.RELU: 'relu'> is not one of"):
        space.encode(attrs.evolve(config, act=Act.RELU))


@attrs.frozen(kw_only=True)
class Ambiguous:
    name_and_text: Literal[Mode.A, "A"]
    same_name: Annotated[object, ah.Categorical([Act.RELU, Mode.A, Level.LOW, "RELU"])]


def test_a_member_name_that_equals_another_choice_is_reported() -> None:
    with pytest.raises(ExceptionGroup) as info:
        ah.compile_space(Ambiguous)
    found = {
        e.path: str(e) for e in info.value.exceptions if isinstance(e, ah.SpaceDeclarationError)
    }
    assert set(found) == {"Ambiguous.name_and_text", "Ambiguous.same_name"}
    assert "Mode.A and 'A' are both stored as 'A'" in found["Ambiguous.name_and_text"]
    assert "enum members are stored by name" in found["Ambiguous.name_and_text"]
    assert "Act.RELU and 'RELU' are both stored as 'RELU'" in found["Ambiguous.same_name"]


def test_study_with_enum_literal_reopens_from_sqlite(tmp_path: Any) -> None:
    import anyio  # noqa: PLC0415 - only this test runs a study

    database = str(tmp_path / "study.db")

    async def main() -> list[Members]:
        for _ in range(2):
            async with ah.open_study(Members, storage=database, name="m") as study:
                trial = await study.ask()
                await study.tell(trial, 1.0)
        async with ah.open_study(Members, storage=database, name="m") as study:
            return [trial.config for trial in await study.trials()]

    configs = anyio.run(main)
    assert len(configs) == 2
    assert [(type(c.mode), type(c.act)) for c in configs] == [(Mode, Act)] * 2
