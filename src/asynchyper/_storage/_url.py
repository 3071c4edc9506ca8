"""Turn a storage argument (path, URL or object) into a Storage."""

from __future__ import annotations

import os
import re

from .._errors import StorageError
from ._base import Storage
from ._memory import MemoryStorage
from ._pgurl import redact
from ._sqlite import SQLiteStorage

__all__ = ["open_storage", "redact_url"]

_ACCEPTED = (
    "a file path such as 'study.db', 'sqlite:///relative/study.db', "
    "'sqlite:////absolute/study.db', ':memory:', "
    "'postgresql://user:password@host:5432/database', a Storage object, or None (in memory)"
)


def open_storage(storage: str | os.PathLike[str] | Storage | None) -> Storage:
    """Return the Storage that a ``storage=`` argument names.

    The result is not opened yet; use it as an async context manager (SQLite and
    PostgreSQL also open themselves on first use).

    Args:
        storage: ``None`` or ``":memory:"`` for in-memory storage; a file path
            (``"study.db"``) or ``"sqlite:///study.db"`` URL for SQLite (four slashes
            for an absolute path); a ``postgresql://``, ``postgres://`` or
            ``postgresql+psycopg://`` URL, or a libpq ``"host=... dbname=..."``
            string, for PostgreSQL; or a Storage object, returned as is.

    Returns:
        The storage.

    Raises:
        TypeError: ``storage`` is none of these.
        StorageError: An unknown URL scheme, an empty path, a ``sqlite:`` URL with a
            ``?query`` or ``#fragment`` (SQLite storage takes no URL options) or with
            a host (``sqlite://x.db``), a path starting with ``~`` (not expanded), a
            ``":memory"`` typo, or ``sqlite:///dir/x.db`` where ``./dir`` is missing
            and ``/dir`` exists (an absolute path needs four slashes).
        MissingExtraError: A PostgreSQL URL, but psycopg is not installed.
    """
    if storage is None:
        return MemoryStorage()
    if isinstance(storage, Storage):
        return storage
    if isinstance(storage, os.PathLike):
        return SQLiteStorage(os.fspath(storage))
    given: object = storage  # checked at run time: callers may pass anything
    if not isinstance(given, str):
        msg = f"storage= takes {_ACCEPTED}; got {type(given).__qualname__} {given!r:.80}"
        raise TypeError(msg)
    if storage == ":memory:":
        return MemoryStorage()
    scheme, separator, rest = storage.partition("://")
    if not separator:
        if not storage.strip():
            msg = f"storage path is empty; use {_ACCEPTED}"
            raise StorageError(msg)
        _reject_url_without_slashes(storage)
        _reject_unexpanded_path(storage, storage)
        if _LIBPQ_KEYWORD.match(storage):  # "host=... dbname=...": not a file name
            from ._postgres import PostgresStorage  # noqa: PLC0415 - an optional extra

            return PostgresStorage(storage)
        return SQLiteStorage(storage)
    scheme = scheme.lower()
    if scheme == "sqlite":
        if rest == ":memory:":  # "sqlite://:memory:", SQLAlchemy's spelling
            return MemoryStorage()
        if rest and not rest.startswith("/"):
            msg = (
                f"storage {storage!r} has two slashes, so {rest.split('/')[0]!r} would be "
                f"read as a host, which SQLite has none of; use 'sqlite:///{rest}' (three "
                f"slashes: a relative path) or 'sqlite:////{rest}' (four: an absolute path)"
            )
            raise StorageError(msg)
        path = rest[1:] if rest.startswith("/") else rest
        if os.name == "nt" and re.match(r"/[A-Za-z]:[/\\]", path):
            path = path[1:]  # "sqlite:////C:/x.db": a drive letter has no leading slash
        _reject_sqlite_url_options(storage, path)
        if path in ("", ":memory:"):
            return MemoryStorage()
        _reject_unexpanded_path(storage, path)
        _reject_missed_absolute_path(storage, path)
        return SQLiteStorage(path)
    if scheme in ("postgresql", "postgres") or scheme.startswith("postgresql+"):
        from ._postgres import PostgresStorage  # noqa: PLC0415 - psycopg is an optional extra

        return PostgresStorage(storage)
    msg = f"storage {redact_url(storage)!r} has unknown scheme {scheme!r}; use {_ACCEPTED}"
    raise StorageError(msg)


def _reject_url_without_slashes(storage: str) -> None:
    """Refuse ``"sqlite:x.db"`` and the like, which would create a file of that name.

    Only the schemes asynchyper knows (and ``file:``) are refused: any other colon
    may be part of a real file name.
    """
    prefix, colon, rest = storage.partition(":")
    scheme = prefix.lower()
    if not colon or not (scheme in _URL_SCHEMES or scheme.startswith("postgresql+")):
        return
    if scheme in ("sqlite", "file"):
        _reject_sqlite_url_options(storage, rest.lstrip("/"))
        fix = f"'sqlite:///{rest.lstrip('/')}' (three slashes: a relative path)"
        fix += f" or 'sqlite:////{rest.lstrip('/')}' (four slashes: an absolute path)"
        if scheme == "file":
            fix += f", or the plain path {rest.lstrip('/')!r}"
    else:
        fix = f"'{prefix}://user:password@host:5432/database'"
    shown = redact(f"{prefix}:{_masked_userinfo(rest)}", None)  # never show a password
    msg = (
        f"storage {shown!r} looks like a {prefix}: URL without its '//', so it would "
        f"create a file of that name; use {fix}"
    )
    raise StorageError(msg)


def _masked_userinfo(rest: str) -> str:
    """What follows ``scheme:`` with only a password masked (``/user:***@host/db``): the
    slashes and the user name are what the user must see to spot the mistake."""
    credentials, at, host = rest.rpartition("@")
    if not at:
        return rest
    slashes = credentials[: len(credentials) - len(credentials.lstrip("/"))]
    user, colon, _ = credentials.lstrip("/").partition(":")
    return f"{slashes}{user}{':***' if colon else ''}@{host}"


def _reject_unexpanded_path(storage: str, path: str) -> None:
    """Refuse ``"~/study.db"`` (``~`` is not expanded) and ``":memory"`` (a typo).

    Both would create a file of an odd name in the working directory.
    """
    expanded = os.path.expanduser(path)
    if expanded != path and not os.path.isdir(path.split("/", maxsplit=1)[0]):
        msg = (
            f"storage {storage!r} starts with '~', which is not expanded to a home "
            f"directory; pass os.path.expanduser({path!r}) (or a pathlib.Path: "
            f"Path({path!r}).expanduser())"
        )
        raise StorageError(msg)
    if path.startswith(":") and "mem" in path.lower() and path != ":memory:":
        msg = (
            f"storage {storage!r} would create a file of that name; for in-memory storage "
            f"use ':memory:' (a colon at each end) or None"
        )
        raise StorageError(msg)


def _reject_missed_absolute_path(storage: str, path: str) -> None:
    """Refuse ``"sqlite:///tmp/x.db"`` when ``./tmp`` does not exist but ``/tmp`` does.

    Three slashes name a relative path; the absolute one needs four. Only when the
    relative reading cannot work (its directory is missing) and the path's first
    directory exists at the root is the URL refused, so a working relative URL is
    never second-guessed.
    """
    if os.path.isabs(path):
        return
    directory = os.path.dirname(path)
    first = directory.split("/")[0]
    if not directory or os.path.isdir(directory) or not os.path.isdir(os.sep + first):
        return
    msg = (
        f"storage {storage!r} names the relative path {path!r}, whose directory "
        f"{directory!r} does not exist here; for the absolute path "
        f"{os.sep + path!r} write four slashes: 'sqlite:////{path}'"
    )
    raise StorageError(msg)


def _reject_sqlite_url_options(storage: str, path: str) -> None:
    """Refuse ``"sqlite:///x.db?mode=ro"``, which would create a file named ``x.db?mode=ro``.

    Args:
        storage: The whole URL, for the message.
        path: The file path the URL names, query or fragment included.
    """
    cut = min((i for i in (path.find("?"), path.find("#")) if i >= 0), default=-1)
    if cut < 0:
        return
    whole, path, extra = path, path[:cut], path[cut:]
    part = "query" if extra.startswith("?") else "fragment"
    if not path:
        fix = _ACCEPTED
    elif part == "query":
        fix = f"the plain path {path!r} or 'sqlite:///{path}'"
    else:  # more likely a '#' in the file name than a fragment: a plain path keeps it
        fix = f"the plain path {whole!r} (a file of that name) or 'sqlite:///{path}'"
    msg = (
        f"storage {storage!r} has a URL {part} ({extra!r}), but asynchyper's SQLite storage "
        f"takes no URL options; use {fix}"
    )
    raise StorageError(msg)


#: The start of a libpq ``key=value`` connection string (PostgresStorage accepts them).
_LIBPQ_KEYWORD = re.compile(
    r"\s*(host|hostaddr|port|dbname|user|password|passfile|service|sslmode|"
    r"connect_timeout|application_name|options)\s*=",
    re.IGNORECASE,
)

#: URL schemes that, written without ``//``, are a mistake rather than a file name.
_URL_SCHEMES = frozenset({"sqlite", "file", "postgresql", "postgres"})


def redact_url(url: str) -> str:
    """The URL without a password (``user:***@``, ``password=***``), safe to show."""
    scheme, _, rest = url.partition("://")
    credentials, at, host = rest.rpartition("@")
    if not at:
        return redact(url, None)  # a ?password=... parameter
    user = credentials.partition(":")[0]
    return redact(f"{scheme}://{user}:***@{host}", None)
