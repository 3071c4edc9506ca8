"""Types shared by the PostgreSQL modules: a query, its rows, and a step of SQL.

A *step* is a generator that yields queries and receives each query's rows, then
returns its result. It may also yield a *burst*, a list of queries: the adapter
sends them all at once (psycopg's pipeline mode, one network round trip) and the
step receives a list with the rows of each. Steps hold all the SQL and its logic
without doing any I/O; the adapters in ``_pgconnect.py`` run them on an async or a
sync connection.
"""

from __future__ import annotations

from collections.abc import Generator, Mapping, Sequence
from typing import Any, TypeAlias, TypeVar

__all__ = ["Burst", "Query", "Rows", "Step"]

T = TypeVar("T")

#: SQL text and its parameters (psycopg placeholders: ``%s`` or ``%(name)s``).
Query: TypeAlias = tuple[str, Sequence[Any] | Mapping[str, Any]]
#: The rows a query returned (empty for a statement without a result).
Rows: TypeAlias = list[tuple[Any, ...]]
#: Queries sent together; answered by a list with the rows of each.
Burst: TypeAlias = list[Query]
#: A generator of queries (or bursts) that receives their rows and returns a ``T``.
#: What it receives is ``Rows`` for a query and ``list[Rows]`` for a burst.
Step: TypeAlias = Generator[Query | Burst, Any, T]
