"""The public surface is exactly ``__all__``, and every public name is documented."""

from __future__ import annotations

import ast
import inspect
import itertools
import types

import asynchyper
from asynchyper import _types


def test_public_names_equal_all() -> None:
    # Sub-packages such as asynchyper.sklearn appear as attributes once imported.
    public = {
        name
        for name, value in vars(asynchyper).items()
        if not name.startswith("_") and not isinstance(value, types.ModuleType)
    }
    assert public == set(asynchyper.__all__)


def test_all_has_no_duplicates() -> None:
    assert len(asynchyper.__all__) == len(set(asynchyper.__all__))


#: Type aliases carry no ``__doc__`` of their own; each has an attribute docstring (a
#: string right after its assignment), which the API reference renders (a ``#:``
#: comment was not rendered: the aliases were missing from the docs).
ALIASES = {"Direction", "JSONInput", "JSONScalar", "JSONValue", "Params"}


def test_every_public_name_has_a_docstring() -> None:
    missing = [
        name
        for name in asynchyper.__all__
        if name not in ALIASES and not (getattr(asynchyper, name).__doc__ or "").strip()
    ]
    assert missing == []


def test_every_public_type_alias_has_an_attribute_docstring() -> None:
    body = ast.parse(inspect.getsource(_types)).body
    documented = {
        statement.target.id
        for statement, following in itertools.pairwise(body)
        if isinstance(statement, ast.AnnAssign)
        and isinstance(statement.target, ast.Name)
        and isinstance(following, ast.Expr)
        and isinstance(following.value, ast.Constant)
        and isinstance(following.value.value, str)
        and following.value.value.strip()
    }
    assert documented >= ALIASES
    assert set(asynchyper.__all__) >= ALIASES
