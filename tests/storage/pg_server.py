"""A throwaway PostgreSQL database for the tests (helpers, not a test module).

The admin URL comes from ``ASYNCHYPER_TEST_POSTGRES_URL`` (default
``postgresql://postgres@127.0.0.1:5432/test``). Without a reachable server the
PostgreSQL tests skip, saying how to enable them; with
``ASYNCHYPER_REQUIRE_POSTGRES=1`` (as CI sets) they fail instead.
"""

from __future__ import annotations

import os
import secrets
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

DEFAULT_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/test"
ADMIN_URL = os.environ.get("ASYNCHYPER_TEST_POSTGRES_URL", DEFAULT_ADMIN_URL)
REQUIRED = os.environ.get("ASYNCHYPER_REQUIRE_POSTGRES", "") not in ("", "0")
ENABLE_HINT = (
    "start PostgreSQL (e.g. `pg_ctlcluster 15 main start`) so that "
    f"{DEFAULT_ADMIN_URL} accepts connections, or set ASYNCHYPER_TEST_POSTGRES_URL to "
    "the URL of a role that may CREATE DATABASE"
)


def with_database(url: str, database: str) -> str:
    """``url`` pointing at another database on the same server."""
    parts = urllib.parse.urlsplit(url)
    return urllib.parse.urlunsplit(parts._replace(path="/" + database))


def without_password(url: str) -> str:
    parts = urllib.parse.urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
    return urllib.parse.urlunsplit(parts._replace(netloc=netloc))


def admin_connect() -> Any:
    """An autocommit admin connection, or skip (fail under REQUIRED) with a hint."""
    try:
        import psycopg  # noqa: PLC0415 - the postgres extra is optional
    except ImportError:
        pytest.skip("psycopg is not installed: pip install 'asynchyper[postgres]'")
    try:
        return psycopg.connect(ADMIN_URL, autocommit=True, connect_timeout=3)
    except psycopg.Error as exc:
        reason = f"PostgreSQL is not reachable at {without_password(ADMIN_URL)} ({exc}); "
        if REQUIRED:
            pytest.fail(
                reason + "ASYNCHYPER_REQUIRE_POSTGRES is set, so this fails instead of "
                "skipping; " + ENABLE_HINT
            )
        pytest.skip(reason + "to run these tests, " + ENABLE_HINT)


@contextmanager
def throwaway_database() -> Iterator[str]:
    """Create a fresh database, yield its URL, then drop it (even after a failure)."""
    admin = admin_connect()  # skips (or fails) first when psycopg or the server is missing
    from psycopg import sql  # noqa: PLC0415

    name = f"asynchyper_test_{os.getpid()}_{secrets.token_hex(4)}"
    try:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        try:
            yield with_database(ADMIN_URL, name)
        finally:
            admin.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))
    finally:
        admin.close()


def terminate(database_url: str, application_name: str) -> int:
    """``pg_terminate_backend`` every session of ``application_name`` on that database."""
    import psycopg  # noqa: PLC0415

    database = urllib.parse.urlsplit(database_url).path.lstrip("/")
    with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
        rows = admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = %s AND application_name = %s AND pid <> pg_backend_pid()",
            (database, application_name),
        ).fetchall()
    return sum(1 for (done,) in rows if done)
