"""Parsing a PostgreSQL URL: connection parameters, the schema, and a safe display form.

The password is taken out of the URL and kept apart from everything that may be
shown: the display form (used in reprs, logs and error messages) never holds it,
and :meth:`Target.redact` scrubs it from any text a driver produced.
"""

from __future__ import annotations

import math
import re
import urllib.parse
from typing import Any

import attrs

from .._errors import StorageError

__all__ = ["Target", "parse_url"]

_SCHEMES = ("postgresql", "postgres")
#: TCP settings (libpq parameters) unless the URL sets them. The keepalives notice a
#: server that went silent while the connection is idle (15 s, then 3 probes 5 s
#: apart); ``tcp_user_timeout`` (milliseconds) ends a connection whose sent data stays
#: unacknowledged that long (a network partition mid-request) instead of after the
#: kernel's ~15 minutes of retransmissions. A server that acknowledges but never
#: answers is caught by the store's own ``operation_timeout``.
_TCP_DEFAULTS = {
    "keepalives": 1,
    "keepalives_idle": 15,
    "keepalives_interval": 5,
    "keepalives_count": 3,
    "tcp_user_timeout": 30_000,
}
#: The default of ``operation_timeout`` (seconds).
DEFAULT_OPERATION_TIMEOUT = 60.0
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
        operation_timeout: Seconds a round trip may take before the connection is
            given up as lost (``inf``: never).
    """

    params: dict[str, Any]
    password: str | None
    schema: str | None
    display: str
    operation_timeout: float = DEFAULT_OPERATION_TIMEOUT
    #: Other forms the password may have been written in (as typed in the URL, or a
    #: wider guess when the URL was ambiguous); redacted like the password itself.
    also_hidden: tuple[str, ...] = ()

    def __repr__(self) -> str:
        return f"Target({self.display!r})"

    def redact(self, text: str) -> str:
        """``text`` with the password (plain or percent-encoded) replaced by ``***``."""
        for secret in self.also_hidden:
            text = redact(text, secret)
        return redact(text, self.password)

    def connect_params(self) -> dict[str, Any]:
        """Every psycopg keyword argument, the password included."""
        if self.password is None:
            return dict(self.params)
        return {**self.params, "password": self.password}


#: PostgreSQL's longest identifier, in bytes (NAMEDATALEN - 1).
_MAX_IDENTIFIER = 63


#: Shorter passwords are replaced only where a URL holds one (``:pw@``): replacing every
#: ``1`` in a message would garble it ("***27.0.0.***") and give the password away.
_MIN_REDACTED = 4


def redact(text: str, password: str | None) -> str:
    """``text`` with ``password`` and any ``password=...`` parameter replaced by ``***``."""
    text = _PASSWORD_PARAM.sub(r"\1***", text)
    if password:
        for form in {password, urllib.parse.quote(password, safe=""), urllib.parse.quote(password)}:
            if len(form) >= _MIN_REDACTED:
                text = text.replace(form, "***")
            else:
                text = text.replace(f":{form}@", ":***@")
    return text


def _raw_password_of(url: str) -> str | None:
    """The password as written, up to the last ``@`` before the path: an unencoded
    ``@`` or ``/`` in it would otherwise leave its tail outside the parsed password."""
    _, separator, rest = url.partition("://")
    userinfo, at, _ = rest.partition("?")[0].rpartition("@")
    if not separator or not at:
        return None
    return userinfo.partition(":")[2] or None


def _wide_password_of(url: str) -> str | None:
    """Everything between the user's ``:`` and the URL's last ``@``: a password holding
    an unencoded ``?`` or ``#`` is cut by :func:`_raw_password_of`, never by this."""
    _, separator, rest = url.partition("://")
    userinfo, at, _ = rest.rpartition("@")
    if not separator or not at:
        return None
    return userinfo.partition(":")[2] or None


def _unencoded_slash(raw: str) -> bool:
    """Whether ``raw`` (see :func:`_raw_password_of`) holds a ``/``.

    ``host:5432/db@x`` (a port, then a database name with an ``@``) and
    ``user:5432/pw@host`` (a password with a ``/``) cannot be told apart; taking the
    second for the first would show the password as a port and a database name. Both
    are refused: an ``@`` in a database name is written ``%40``.
    """
    return "/" in raw


def _password_of(url: str) -> str | None:
    """The password of a URL, parsed leniently (to redact messages about a bad URL)."""
    try:
        return urllib.parse.unquote(urllib.parse.urlsplit(url).password or "") or None
    except ValueError:
        return None


def parse_url(
    url: str,
    *,
    schema: str | None,
    application_name: str,
    connect_timeout: float,
    operation_timeout: float | None = None,
) -> Target:
    """Split a ``postgresql://`` URL (or a libpq ``key=value`` string) into a Target.

    Accepts ``postgresql://``, ``postgres://`` and SQLAlchemy-style
    ``postgresql+psycopg://`` URLs, with every libpq parameter in the query string,
    plus asynchyper's own ``?schema=NAME`` (the tables go into that schema) and
    ``?operation_timeout=SECONDS``. A schema or operation timeout given both as an
    argument and in the URL must agree.

    Raises:
        StorageError: The URL cannot be parsed (the message omits the password), or
            an option is invalid or given twice with two values.
    """
    from psycopg import conninfo  # noqa: PLC0415 - the postgres extra is imported lazily

    password = _password_of(url)
    raw = _raw_password_of(url)
    wide = _wide_password_of(url)
    if wide is not None and "/" in wide:  # it runs into the path: an '@' in the query
        wide = None
    written = tuple(form for form in (wide, raw) if form)  # the longest first

    def hidden(text: str) -> str:  # the written forms first: they may be longer
        for form in written:
            text = redact(text, form)
        return redact(text, password)

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
        cut = wide is not None and wide != raw and "?" in wide
        if cut or (raw is not None and ("@" in raw or _unencoded_slash(raw))):
            msg = (
                f"the password in {hidden(url)!r} holds an unencoded '@', '/' or '?', so "
                "the URL cannot be split into password, host and database; percent-encode "
                "the password (urllib.parse.quote(password, safe='')), or an '@' in the "
                "database name (%40)"
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
        timeouts = [value for key, value in pairs if key == "operation_timeout"]
        if timeouts:
            seconds = _seconds(timeouts[-1], "?operation_timeout")
            if operation_timeout is not None and operation_timeout != seconds:
                msg = (
                    f"the operation timeout is given twice: operation_timeout="
                    f"{operation_timeout!r} and ?operation_timeout={timeouts[-1]} in "
                    f"{hidden(url)!r}; give it once"
                )
                raise StorageError(msg)
            operation_timeout = seconds
        ours = ("schema", "operation_timeout")
        kept = urllib.parse.urlencode(  # %20, not "+", for a space: libpq reads no "+"
            [(key, value) for key, value in pairs if key not in ours], quote_via=urllib.parse.quote
        )
        text = f"postgresql://{path}" + (f"?{kept}" if kept else "")
    reason: str | None = None
    try:
        params: dict[str, Any] = dict(conninfo.conninfo_to_dict(text))
    except Exception as exc:  # psycopg.ProgrammingError: the message may quote the URL
        reason = hidden(str(exc))
    if reason is not None:  # raised outside the except block: no __context__ to leak
        msg = f"cannot parse the PostgreSQL URL {hidden(url)!r}: {reason}"
        raise StorageError(msg)
    password = params.pop("password", None) or password
    if schema is not None and (not schema or "\x00" in schema):
        msg = f"schema must be a non-empty name without NUL characters, got {schema!r}"
        raise StorageError(msg)
    if schema is not None and len(schema.encode()) > _MAX_IDENTIFIER:
        # PostgreSQL would cut it silently: two long names would share one schema.
        msg = (
            f"schema {schema!r} is {len(schema.encode())} bytes long; PostgreSQL keeps "
            f"only the first {_MAX_IDENTIFIER} of a name, so use a shorter schema name"
        )
        raise StorageError(msg)
    params.setdefault("application_name", application_name)
    params.setdefault("connect_timeout", max(1, round(connect_timeout)))
    for key, value in _TCP_DEFAULTS.items():
        params.setdefault(key, value)
    return Target(
        params=params,
        password=password,
        schema=schema,
        display=hidden(_display(params, schema)),
        operation_timeout=(
            DEFAULT_OPERATION_TIMEOUT if operation_timeout is None else operation_timeout
        ),
        also_hidden=tuple(form for form in written if form != password),
    )


def _seconds(text: str, what: str) -> float:
    """A positive number of seconds written in a URL (``inf``: no limit)."""
    try:
        seconds = float(text)
    except ValueError:
        seconds = math.nan
    if not seconds > 0:  # also rejects NaN
        msg = f"{what} must be a positive number of seconds, got {text!r}"
        raise StorageError(msg)
    return seconds


def _display(params: dict[str, Any], schema: str | None) -> str:
    user = params.get("user")
    host = params.get("host") or params.get("hostaddr") or "localhost"
    port = params.get("port")
    # Percent-encoded, so that the URL shown can be used again ("db@x" is refused).
    database = urllib.parse.quote(params.get("dbname") or "", safe="")
    where = f"{user}@{host}" if user else str(host)
    if port:
        where += f":{port}"
    shown = f"postgresql://{where}/{database}"
    return f"{shown}?schema={schema}" if schema else shown


def quote_identifier(name: str) -> str:
    """``name`` as a quoted SQL identifier (doubled quotes; NUL rejected by parse_url)."""
    return '"' + name.replace('"', '""') + '"'
