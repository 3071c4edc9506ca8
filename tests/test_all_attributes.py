"""The public surface is exactly ``__all__``, and every public name is documented."""

from __future__ import annotations

import types

import asynchyper


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


def test_every_public_name_has_a_docstring() -> None:
    missing = [
        name for name in asynchyper.__all__ if not (getattr(asynchyper, name).__doc__ or "").strip()
    ]
    assert missing == []
