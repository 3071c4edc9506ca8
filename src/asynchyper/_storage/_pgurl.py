"""Parsing a PostgreSQL URL: connection parameters, the schema, and a safe display form.

The password is taken out of the URL and kept apart from everything that may be
shown: the display form (used in reprs, logs and error messages) never holds it,
and :meth:`Target.redact` scrubs it from any text a driver produced.
"""

from __future__ import annotations

import re
import urllib.parse
from typing import Any

import attrs

from .._errors import StorageError

__all__ = ["Target", "parse_url"]

_SCHEMES = ("postgresql", "postgres")
_KEEPALIVES = {
    "keepalives": 1,
    "keepalives_idle": 15,
    "keepalives_interval": 5,
    "keepalives_count": 3,
}
_PASSWORD_PARAM = re.compile(r"(password\s*=\s*)('(?:[^'\\]|\\.)*'|[^\s&]*)", re.IGNORECASE)


@attrs.frozen(repr=False)
class Target:
    """Where a PostgreSQL store lives.

    Attributes:
        params: psycopg connection keywords (without the password).
        password: The password, or ``None``; never shown.
        schema: The PostgreSQL schema holding the tables, or ``None`` for the
            connection's default ``search_path``.
        display: The URL without the password, for messages.
    """

    params: dict[str, Any]
    password: str | None
    schema: str | None
    display: str

    def __repr__(self) -> str:
        return f"Target({self.display!r})"

    def redact(self, text: str) -> str:
        """``text`` with the password (plain or percent-encoded) replaced by ``***``."""
        return redact(text, self.password)

    def connect_params(self) -> dict[str, Any]:
        """Every psycopg keyword argument, the password included."""
        if self.password is None:
            return dict(self.params)
        return {**self.params, "password": self.password}


def redact(text: str, password: str | None) -> str:
    """``text`` with ``password`` and any ``password=...`` parameter replaced by ``***``."""
    text = _PASSWORD_PARAM.sub(r"\1***", text)
    if password:
        for form in {password, urllib.parse.quote(password, safe=""), urllib.parse.quote(password)}:
            text = text.replace(form, "***")
    return text


def _raw_password_of(url: str) -> str | None:
    """The password as written, up to the last ``@`` before the path: an unencoded
    ``@`` or ``/`` in it would otherwise leave its tail outside the parsed password."""
    _, separator, rest = url.partition("://")
    userinfo, at, _ = rest.partition("?")[0].rpartition("@")
    if not separator or not at:
        return None
    return userinfo.partition(":")[2] or None


def _unencoded_slash(raw: str) -> bool:
    """Whether ``raw`` (see :func:`_raw_password_of`) is a password cut by a ``/``.

    ``host:5432/db@x`` (a database name with an ``@``) gives ``5432/db``: a port, then
    the path, which is no password.
    """
    before, slash, _ = raw.partition("/")
    return bool(slash) and not before.isdigit()


def _password_of(url: str) -> str | None:
    """The password of a URL, parsed leniently (to redact messages about a bad URL)."""
    try:
        return urllib.parse.unquote(urllib.parse.urlsplit(url).password or "") or None
    except ValueError:
        return None


def parse_url(
    url: str, *, schema: str | None, application_name: str, connect_timeout: float
) -> Target:
    """Split a ``postgresql://`` URL (or a libpq ``key=value`` string) into a Target.

    Accepts ``postgresql://``, ``postgres://`` and SQLAlchemy-style
    ``postgresql+psycopg://`` URLs, with every libpq parameter in the query string,
    plus ``?schema=NAME`` (asynchyper's own: the tables go into that schema).

    Raises:
        StorageError: The URL cannot be parsed (the message omits the password).
    """
    from psycopg import conninfo  # noqa: PLC0415 - the postgres extra is imported lazily

    password = _password_of(url)
    raw = _raw_password_of(url)

    def hidden(text: str) -> str:  # the written form first: it may be the longer one
        return redact(redact(text, raw), password)

    text = url
    scheme, separator, rest = url.partition("://")
    if separator:
        base = scheme.lower().partition("+")[0]
        if base not in _SCHEMES:
            msg = (
                f"{hidden(url)!r} is not a PostgreSQL URL; use "
                "'postgresql://user:password@host:5432/database'"
            )
            raise StorageError(msg)
        if raw is not None and ("@" in raw or _unencoded_slash(raw)):
            msg = (
                f"the password in {hidden(url)!r} holds an unencoded '@' or '/', so the URL "
                "cannot be split into password, host and database; percent-encode the "
                "password (urllib.parse.quote(password, safe=''))"
            )
            raise StorageError(msg)
        path, _, query = rest.partition("?")
        pairs = urllib.parse.parse_qsl(query, keep_blank_values=True)
        given = [value for key, value in pairs if key == "schema"]
        if given:
            if schema is not None and schema != given[-1]:
                msg = (
                    f"the schema is given twice: schema={schema!r} and ?schema={given[-1]!r} "
                    f"in {hidden(url)!r}; give it once"
                )
                raise StorageError(msg)
            schema = given[-1]
        kept = urllib.parse.urlencode([(key, value) for key, value in pairs if key != "schema"])
        text = f"postgresql://{path}" + (f"?{kept}" if kept else "")
    try:
        params: dict[str, Any] = dict(conninfo.conninfo_to_dict(text))
    except Exception as exc:  # psycopg.ProgrammingError: the message may quote the URL
        reason = hidden(str(exc))
        msg = f"cannot parse the PostgreSQL URL {hidden(url)!r}: {reason}"
        raise StorageError(msg) from None
    password = params.pop("password", None) or password
    if schema is not None and (not schema or "\x00" in schema):
        msg = f"schema must be a non-empty name without NUL characters, got {schema!r}"
        raise StorageError(msg)
    params.setdefault("application_name", application_name)
    params.setdefault("connect_timeout", max(1, round(connect_timeout)))
    # TCP keepalives: a silently lost server is noticed in about half a minute.
    for key, value in _KEEPALIVES.items():
        params.setdefault(key, value)
    return Target(params=params, password=password, schema=schema, display=_display(params, schema))


def _display(params: dict[str, Any], schema: str | None) -> str:
    user = params.get("user")
    host = params.get("host") or params.get("hostaddr") or "localhost"
    port = params.get("port")
    database = params.get("dbname") or ""
    where = f"{user}@{host}" if user else str(host)
    if port:
        where += f":{port}"
    shown = f"postgresql://{where}/{database}"
    return f"{shown}?schema={schema}" if schema else shown


def quote_identifier(name: str) -> str:
    """``name`` as a quoted SQL identifier (doubled quotes; NUL rejected by parse_url)."""
    return '"' + name.replace('"', '""') + '"'
