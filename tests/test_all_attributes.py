"""The public surface is exactly ``__all__``, and every public name is documented."""

from __future__ import annotations

import asynchyper


def test_public_names_equal_all() -> None:
    public = {name for name in vars(asynchyper) if not name.startswith("_")}
    assert public == set(asynchyper.__all__)


def test_all_has_no_duplicates() -> None:
    assert len(asynchyper.__all__) == len(set(asynchyper.__all__))


def test_every_public_name_has_a_docstring() -> None:
    missing = [
        name
        for name in asynchyper.__all__
        if not (getattr(asynchyper, name).__doc__ or "").strip()
    ]
    assert missing == []
