"""MemoryStorage passes the storage contract."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
from storage_contract import StorageContract, StorageFactory

from asynchyper import MemoryStorage, Storage
from asynchyper._storage import new_owner_id, open_storage


class TestMemoryStorage(StorageContract):
    @pytest.fixture
    def make_storage(self) -> StorageFactory:
        @asynccontextmanager
        async def make() -> AsyncIterator[Storage]:
            async with MemoryStorage() as storage:
                yield storage

        return make


@pytest.mark.parametrize("argument", [None, ":memory:", "sqlite://", "sqlite:///:memory:"])
def test_open_storage_in_memory(argument: str | None) -> None:
    assert isinstance(open_storage(argument), MemoryStorage)


def test_open_storage_returns_a_storage_object_as_is() -> None:
    storage = MemoryStorage()
    assert open_storage(storage) is storage


def test_owner_ids_name_host_pid_and_a_token() -> None:
    first, second = new_owner_id(), new_owner_id()
    host, pid, token = first.split(":")
    assert host
    assert int(pid) == os.getpid()
    assert len(token) == 8
    assert first != second
