"""MemoryStorage passes the storage contract."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
from storage_contract import StorageContract, StorageFactory

from asynchyper import MemoryStorage, Storage
from asynchyper._storage import _common, new_owner_id, open_storage
from asynchyper._storage._common import process_start


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
    random, _, started = token.partition("@")
    assert len(random) == 8
    # The process's start time, where /proc tells it.
    assert started == (
        "" if process_start(os.getpid()) is None else str(process_start(os.getpid()))
    )
    assert first != second


def test_process_start_tells_processes_apart() -> None:
    here = process_start(os.getpid())
    if here is None:
        pytest.skip("needs /proc (Linux)")
    with subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"]) as child:
        try:
            started = process_start(child.pid)
            assert started is not None
            assert started >= here  # a later process, a later start
            assert process_start(child.pid) == started  # stable
        finally:
            child.kill()
    assert process_start(child.pid) is None  # reaped: gone from /proc


def test_windows_liveness_never_signals_the_owner(monkeypatch: pytest.MonkeyPatch) -> None:
    # os.kill(pid, 0) on Windows is GenerateConsoleCtrlEvent(CTRL_C_EVENT, pid): a
    # study opening next to another one would have interrupted the whole console.
    with subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"]) as child:
        try:
            owner = f"{_common._HOSTNAME}:{child.pid}:abcdef12"
            assert _common._owner_alive(owner) is True  # here: the process table tells
            called: list[tuple[int, int]] = []
            with monkeypatch.context() as patch:
                patch.setattr(os, "kill", lambda *args: called.append(args))
                patch.setattr(sys, "platform", "win32")
                assert _common._owner_alive(owner) is None  # there: the heartbeat decides
            assert called == []
        finally:
            child.kill()


@pytest.mark.parametrize(
    ("url", "nt", "path"),
    [
        ("sqlite:////C:/runs/s.db", True, "C:/runs/s.db"),  # was "/C:/runs/s.db": C:\C:\...
        ("sqlite:///C:/runs/s.db", True, "C:/runs/s.db"),
        ("sqlite:////srv/s.db", True, "/srv/s.db"),
        ("sqlite:////C:/runs/s.db", False, "/C:/runs/s.db"),  # a POSIX directory "C:"
    ],
)
def test_a_sqlite_url_with_a_windows_drive_letter(
    url: str, nt: bool, path: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from asynchyper._storage import _url  # noqa: PLC0415

    opened: list[str] = []
    monkeypatch.setattr(_url, "SQLiteStorage", opened.append)
    with monkeypatch.context() as patch:
        patch.setattr(os, "name", "nt" if nt else "posix")
        open_storage(url)
    assert opened == [path]
