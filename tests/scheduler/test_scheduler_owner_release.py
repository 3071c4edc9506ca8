"""A study cancelled or failing while it opens releases its owner id."""

from __future__ import annotations

from typing import Any

import anyio
import pytest
from scheduler_helpers import Quad

import asynchyper as ah
from asynchyper._errors import StorageError
from asynchyper._storage import _common

pytestmark = pytest.mark.anyio


class _SlowOpen(ah.MemoryStorage):
    """Its first look for stale trials (made while a study opens) never ends."""

    async def fail_stale(self, *args: Any, **kwargs: Any) -> Any:
        await anyio.sleep_forever()


class _BrokenOpen(ah.MemoryStorage):
    async def fail_stale(self, *args: Any, **kwargs: Any) -> Any:
        msg = "the disk went away"
        raise StorageError(msg)


async def test_cancel_while_opening_releases_the_owner_id() -> None:
    before = set(_common._OWN_IDS)
    for _ in range(3):  # a service whose requests are cancelled as their study opens
        with anyio.move_on_after(0.05) as scope:
            async with ah.open_study(Quad, storage=_SlowOpen()):
                pytest.fail("the study should not have opened")
        assert scope.cancelled_caught
    assert set(_common._OWN_IDS) == before


async def test_failure_while_opening_releases_the_owner_id() -> None:
    before = set(_common._OWN_IDS)
    with pytest.raises(StorageError):
        await ah.minimize(lambda cfg: 0.0, Quad, trials=2, storage=_BrokenOpen())
    assert set(_common._OWN_IDS) == before
