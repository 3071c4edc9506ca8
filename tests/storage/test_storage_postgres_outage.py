"""PostgresStorage when the server stalls, goes away, or ends sessions.

A TCP proxy (``pg_proxy.py``) sits between the store and the test server: it can
stall connections (accept the bytes, answer nothing), refuse them, or reset them.
Timeouts are small so that each test takes a second or two; a helper lifts every
stall after a few seconds, so that code without an operation timeout fails these
tests on their time limits instead of hanging the run.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import os
import socket
import threading
import time
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any

import anyio
import anyio.to_thread
import attrs
import pytest
from pg_proxy import Proxy, proxied
from pg_server import terminate, throwaway_database
from storage_contract import REMOTE_OWNER, new_study

import asynchyper as ah
from asynchyper import StorageError, TrialState
from asynchyper._storage import PostgresStorage, _pgschema, _postgres
from asynchyper._storage._pgtypes import Step


@pytest.fixture(scope="module")
def pg_url() -> Iterator[str]:
    """URL of a database created for this module and dropped afterwards."""
    with throwaway_database() as url:
        yield url


_schemas = itertools.count()


def store(url: str, **options: Any) -> PostgresStorage:
    """A store in a schema of its own."""
    return PostgresStorage(url, schema=f"outage_{next(_schemas)}", **options)


@contextmanager
def released_after(proxy: Proxy, seconds: float) -> Iterator[None]:
    """Lift every stall after ``seconds`` (so that a store that would wait forever
    fails the test's time limit instead of hanging it)."""
    timer = threading.Timer(seconds, setattr, (proxy, "mode", "forward"))
    timer.start()
    try:
        yield
    finally:
        timer.cancel()


def with_options(url: str, options: str) -> str:
    """``url`` as a libpq string with ``options`` (session settings sent at connect),
    as if the database or the role set them."""
    parts = urllib.parse.urlsplit(url)
    quoted = options.replace("\\", "\\\\").replace("'", "\\'")
    return (
        f"host={parts.hostname} port={parts.port or 5432} user={parts.username} "
        f"dbname={parts.path.lstrip('/')} options='{quoted}'"
    )


def show(setting: str) -> Step[str]:
    rows = yield (f"SHOW {setting}", ())
    return str(rows[0][0])


@attrs.frozen(kw_only=True)
class Plane:
    x: Annotated[float, ah.Float(-5.0, 5.0)]


# -- the watchdog's handle on the socket ------------------------------------------------------
def test_the_watchdog_leaves_the_socket_non_blocking() -> None:
    # socket.dup() made the description shared with libpq blocking (settimeout(None)).
    pytest.importorskip("psycopg")
    from asynchyper._storage import _pgconnect  # noqa: PLC0415 - imports psycopg

    left, right = socket.socketpair()
    with left, right:
        left.setblocking(False)
        own = _pgconnect._duplicate(left.fileno())
        assert own is not None
        with own:
            assert os.get_blocking(left.fileno()) is False


@pytest.mark.anyio
async def test_a_large_write_does_not_block_the_event_loop(pg_url: str) -> None:
    # With the socket made blocking, a write whose reply needs more than one read
    # blocked the event loop's thread until the operation timeout (then failed).
    async with store(pg_url, operation_timeout=5.0) as storage:
        study = await new_study(storage)
        longest = 0.0
        last = time.monotonic()

        async def ticker() -> None:
            nonlocal longest, last
            while True:
                await anyio.sleep(0.02)
                now = time.monotonic()
                longest, last = max(longest, now - last), now

        async with anyio.create_task_group() as tg:
            tg.start_soon(ticker)
            started = time.monotonic()
            trial = await storage.start_trial(study.id, {"p": "y" * 200_000}, owner=REMOTE_OWNER)
            elapsed = time.monotonic() - started
            tg.cancel_scope.cancel()
        assert trial is not None
        assert elapsed < 2.0, elapsed
        assert longest < 1.0, longest
        [stored] = await storage.trials(study.id)
        assert stored.params == {"p": "y" * 200_000}


# -- a stalled connection ------------------------------------------------------------------
@pytest.mark.anyio
async def test_a_write_whose_reply_stalls_is_retried_once_after_the_operation_timeout(
    pg_url: str,
) -> None:
    with proxied(pg_url) as (proxy, url):
        async with store(url, operation_timeout=0.5) as storage:
            study = await new_study(storage)
            await storage.start_trial(study.id, {}, owner=REMOTE_OWNER)
            # The server gets the write and commits it; its answer never comes back.
            proxy.stall_open(replies_only=True)
            with released_after(proxy, 6.0):
                started = time.monotonic()
                trial = await storage.start_trial(study.id, {"x": 1}, owner=REMOTE_OWNER)
                elapsed = time.monotonic() - started
            assert elapsed < 3.0, elapsed
            assert trial is not None
            assert trial.number == 1
            trials = await storage.trials(study.id)
            assert [(t.number, t.params) for t in trials] == [(0, {}), (1, {"x": 1})]
            counts = await storage.count_trials(study.id)
            assert counts[TrialState.RUNNING] == 2  # the retry found its token: no duplicate


@pytest.mark.anyio
async def test_a_read_on_a_stalled_connection_is_retried_after_the_operation_timeout(
    pg_url: str,
) -> None:
    with proxied(pg_url) as (proxy, url):
        async with store(url, operation_timeout=0.5) as storage:
            study = await new_study(storage)
            await storage.start_trial(study.id, {}, owner=REMOTE_OWNER)
            assert len(await storage.trials(study.id)) == 1  # a reader connection now
            proxy.stall_open()  # the writer and the reader hang; new connections work
            with released_after(proxy, 6.0):
                started = time.monotonic()
                trials = await storage.trials(study.id)
                elapsed = time.monotonic() - started
            assert elapsed < 3.0, elapsed
            assert [t.number for t in trials] == [0]


@pytest.mark.anyio
@pytest.mark.parametrize("call", ["read", "write"])
async def test_a_call_on_a_stalled_connection_can_be_cancelled(pg_url: str, call: str) -> None:
    with proxied(pg_url) as (proxy, url):
        async with store(url, operation_timeout=0.5, reconnect_timeout=30.0) as storage:
            study = await new_study(storage)
            assert await storage.trials(study.id) == []
            proxy.mode = "stall"  # every connection hangs, new ones too
            with released_after(proxy, 8.0):
                started = time.monotonic()
                with anyio.move_on_after(0.1) as scope:
                    if call == "read":
                        await storage.trials(study.id)
                    else:
                        await storage.start_trial(study.id, {}, owner=REMOTE_OWNER)
                elapsed = time.monotonic() - started
            # The attempt in flight ends at the operation timeout; no retry follows.
            assert scope.cancelled_caught
            assert elapsed < 2.0, elapsed


@pytest.mark.anyio
async def test_a_run_cancelled_on_a_stalled_connection_ends_promptly(pg_url: str) -> None:
    with proxied(pg_url) as (proxy, url):
        storage = store(url, operation_timeout=0.5, reconnect_timeout=1.0, connect_timeout=2)
        async with storage:
            done = 0

            async def objective(config: Plane) -> float:
                nonlocal done
                done += 1
                if done == 8:
                    proxy.mode = "stall"
                await anyio.sleep(0.01)
                return config.x**2

            with released_after(proxy, 12.0):
                started = time.monotonic()
                with anyio.move_on_after(1.0), contextlib.suppress(StorageError):
                    # (a StorageError: the store gave up while the cancellation came)
                    await ah.minimize(
                        objective,
                        Plane,
                        trials=1000,
                        concurrency=4,
                        storage=storage,
                        study="run",
                        suggester=ah.Random(),
                        seed=1,
                    )
                ended = time.monotonic() - (started + 1.0)  # since the cancellation
            assert done >= 8
            # The trial writes in flight end at the operation timeout, then keep
            # reconnecting (the scheduler shields them) until reconnect_timeout after
            # the loss; the clean-up writes after that fail at once. Without an
            # operation timeout the run waits for the stall to end (12 s).
            assert ended < 5.0, ended
            proxy.mode = "forward"


# -- opening -----------------------------------------------------------------------------
def ending_sessions(monkeypatch: pytest.MonkeyPatch, times: int) -> list[int]:
    """Make the next ``times`` schema preparations end their own session midway."""
    original = _pgschema.prepare_schema
    ended: list[int] = []

    def prepare_schema(*args: Any, **kwargs: Any) -> Step[int]:
        if len(ended) < times:
            ended.append(1)
            yield ("SELECT pg_terminate_backend(pg_backend_pid())", ())
        return (yield from original(*args, **kwargs))

    monkeypatch.setattr(_pgschema, "prepare_schema", prepare_schema)
    return ended


@pytest.mark.anyio
async def test_a_session_ended_while_opening_is_retried(
    pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    ended = ending_sessions(monkeypatch, times=2)
    async with store(pg_url, reconnect_timeout=10.0) as storage:
        study = await new_study(storage)
        assert await storage.get_study("study") == study
    assert len(ended) == 2


@pytest.mark.anyio
async def test_opening_gives_up_after_reconnect_timeout_naming_the_cause(
    pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    ending_sessions(monkeypatch, times=1000)
    started = time.monotonic()
    with pytest.raises(StorageError) as caught:
        async with store(pg_url, reconnect_timeout=0.5):
            pass
    assert time.monotonic() - started < 5.0
    message = str(caught.value)
    assert "could not reconnect within reconnect_timeout=0.5 s" in message
    assert "ended the session" in message
    assert "SQLSTATE 57P01" in message
    assert "pg_terminate_backend" in message
    assert "host and port" not in message  # the server is up: that advice would mislead


@pytest.mark.anyio
async def test_a_refused_first_connection_fails_at_once(pg_url: str) -> None:
    parts = urllib.parse.urlsplit(pg_url)
    url = urllib.parse.urlunsplit(parts._replace(netloc=f"{parts.username}@127.0.0.1:1"))
    started = time.monotonic()
    with pytest.raises(StorageError, match="host and port are right") as caught:
        async with PostgresStorage(url, reconnect_timeout=30.0):
            pass
    assert time.monotonic() - started < 2.0  # most likely a wrong port: said at once
    # libpq's two lines read as two sentences ("refused Is the server" and "?." did not).
    message = str(caught.value)
    assert "Connection refused; Is the server running" in message
    assert "?." not in message


# -- session settings ----------------------------------------------------------------------
@pytest.mark.anyio
@pytest.mark.parametrize(
    ("given", "kept"), [("1s", "1s"), ("25s", "25s"), ("0", "30s"), ("10min", "30s")]
)
async def test_the_session_settings(pg_url: str, given: str, kept: str) -> None:
    # As if set for the database or the role: a stricter idle-in-transaction limit is
    # kept; statement and lock timeouts (meant for interactive sessions) are turned off.
    options = (
        f"-c idle_in_transaction_session_timeout={given} -c statement_timeout=1s -c lock_timeout=1s"
    )
    async with store(with_options(pg_url, options)) as storage:
        await storage.list_studies()
        adapters = [storage._writer, *storage._idle_readers]
        assert len(adapters) == 2
        for adapter in adapters:
            assert adapter is not None
            assert await adapter.run(show("idle_in_transaction_session_timeout")) == kept
            assert await adapter.run(show("statement_timeout")) == "0"
            assert await adapter.run(show("lock_timeout")) == "0"


@pytest.mark.anyio
async def test_a_write_waits_for_a_lock_despite_a_statement_timeout(pg_url: str) -> None:
    import psycopg  # noqa: PLC0415 - the postgres extra is optional

    options = "-c statement_timeout=100 -c lock_timeout=100"
    async with store(with_options(pg_url, options)) as storage:
        study = await new_study(storage)
        locked = threading.Event()

        def hold_the_study_row() -> None:
            with psycopg.connect(pg_url) as conn:
                conn.execute(
                    f'SELECT id FROM "{storage.schema}".asynchyper_studies WHERE id = %s '
                    "FOR UPDATE",
                    (study.id,),
                )
                locked.set()
                time.sleep(0.6)

        holder = threading.Thread(target=hold_the_study_row)
        holder.start()
        try:
            await anyio.to_thread.run_sync(locked.wait)
            trial = await storage.start_trial(study.id, {}, owner=REMOTE_OWNER)
        finally:
            await anyio.to_thread.run_sync(holder.join)
        assert trial is not None
        assert trial.number == 0


# -- long outages ----------------------------------------------------------------------------
@pytest.mark.anyio
async def test_after_a_long_outage_calls_fail_at_once_until_the_server_is_back(
    pg_url: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(_postgres, "_MAX_DELAY", 0.3)  # how often a call checks when down
    with proxied(pg_url) as (proxy, url):
        async with store(url, reconnect_timeout=1.0, operation_timeout=1.0) as storage:
            study = await new_study(storage)
            assert await storage.trials(study.id) == []
            proxy.mode = "down"
            started = time.monotonic()
            with pytest.raises(StorageError, match="could not reconnect within reconnect_timeout"):
                await storage.start_trial(study.id, {}, owner=REMOTE_OWNER)
            assert time.monotonic() - started < 3.0
            # Each of these used to start a fresh reconnect_timeout of its own.
            started = time.monotonic()
            for _ in range(3):
                with pytest.raises(StorageError, match="could not reconnect"):
                    await storage.heartbeat(study.id, owner=REMOTE_OWNER)
                with pytest.raises(StorageError, match="could not reconnect"):
                    await storage.trials(study.id)
            assert time.monotonic() - started < 0.5
            proxy.mode = "forward"
            await anyio.sleep(0.35)
            trial = await storage.start_trial(study.id, {}, owner=REMOTE_OWNER)
            assert trial is not None
            assert [t.number for t in await storage.trials(study.id)] == [trial.number]
    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1, [r.getMessage() for r in warnings]  # one per outage
    assert "lost the connection" in warnings[0].getMessage()


@pytest.mark.anyio
async def test_a_connect_attempt_is_limited_to_the_time_left(pg_url: str) -> None:
    with proxied(pg_url) as (proxy, url):
        options = {"reconnect_timeout": 1.0, "connect_timeout": 5, "operation_timeout": 0.5}
        async with store(url, **options) as storage:
            study = await new_study(storage)
            proxy.mode = "stall"  # the write hangs, and so does every new connection
            with released_after(proxy, 8.0):
                started = time.monotonic()
                with pytest.raises(StorageError, match="could not reconnect") as caught:
                    await storage.start_trial(study.id, {}, owner=REMOTE_OWNER)
                elapsed = time.monotonic() - started
            assert elapsed < 3.5, elapsed  # not connect_timeout=5 per attempt
            assert "operation_timeout=0.5 s" in str(caught.value)  # the first cause


# -- logging ---------------------------------------------------------------------------------
@pytest.mark.anyio
async def test_a_reconnect_is_logged_in_one_line(
    pg_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    name = f"asynchyper-log-{next(_schemas)}"
    async with store(pg_url, application_name=name) as storage:
        study = await new_study(storage)
        caplog.clear()
        assert await anyio.to_thread.run_sync(terminate, pg_url, name) == 1
        await storage.start_trial(study.id, {}, owner=REMOTE_OWNER)  # lost in a pipeline
    records = [r for r in caplog.records if r.name.partition(".")[0] in ("asynchyper", "psycopg")]
    assert len(records) == 1, [(r.name, r.getMessage()) for r in records]
    (record,) = records
    assert record.levelno == logging.INFO  # the first retry worked: no warning
    message = record.getMessage()
    assert "lost the connection" in message
    assert "reconnected" in message
    assert "\n" not in message


# -- options ---------------------------------------------------------------------------------
def test_the_operation_timeout_option() -> None:
    pytest.importorskip("psycopg")
    url = "postgresql://u@h/db"
    assert PostgresStorage(url).operation_timeout == 60.0
    assert PostgresStorage(url, operation_timeout=2.5).operation_timeout == 2.5
    assert PostgresStorage(f"{url}?operation_timeout=3").operation_timeout == 3.0
    both = PostgresStorage(f"{url}?operation_timeout=3&sslmode=prefer", operation_timeout=3)
    assert both.operation_timeout == 3.0
    assert "operation_timeout" not in both._target.params  # not a libpq parameter
    assert both._target.params["sslmode"] == "prefer"
    assert PostgresStorage(url, operation_timeout=float("inf")).operation_timeout == float("inf")
    with pytest.raises(StorageError, match="given twice"):
        PostgresStorage(f"{url}?operation_timeout=2", operation_timeout=3)
    for bad in ("0", "-1", "nan", "soon"):
        with pytest.raises(StorageError, match="operation_timeout must be a positive number"):
            PostgresStorage(f"{url}?operation_timeout={bad}")
    for seconds in (0, -1.0, float("nan"), "5", True):
        with pytest.raises(StorageError, match="operation_timeout must be a positive number"):
            PostgresStorage(url, operation_timeout=seconds)  # type: ignore[arg-type]
    with pytest.raises(StorageError, match="connect_timeout must be a positive number"):
        PostgresStorage(url, connect_timeout="10")  # type: ignore[arg-type]


def test_url_parameters_keep_their_spaces() -> None:
    pytest.importorskip("psycopg")
    options = "-c statement_timeout=5s -c search_path=a+b"
    url = f"postgresql://u@h/db?{urllib.parse.urlencode({'options': options})}&schema=s"
    assert PostgresStorage(url)._target.params["options"] == options


def test_tcp_defaults_yield_to_the_url() -> None:
    pytest.importorskip("psycopg")
    params = PostgresStorage("postgresql://u@h/db")._target.params
    assert params["tcp_user_timeout"] == 30_000
    assert params["keepalives_idle"] == 15
    params = PostgresStorage("postgresql://u@h/db?tcp_user_timeout=5000")._target.params
    assert params["tcp_user_timeout"] == "5000"
