"""Whether a search space contains another: a stored study may then take the new one."""

from __future__ import annotations

import json
import math
from collections.abc import Collection, Mapping

from .._types import JSONValue

__all__ = ["blocking", "widens"]

Description = Collection[Mapping[str, JSONValue]]

#: Fields that must stay the same for a dimension to hold its old values the same way.
_SAME = ("kind", "is_branch", "parent", "parent_choice", "log", "step")


def widens(old: Description, new: Description) -> bool:
    """Whether every configuration of ``old`` is one of ``new``, with the same names.

    So every trial stored with ``old`` is a trial of ``new``. Allowed: wider ranges
    (a step grid extended by whole steps), more choices, and new dimensions that only a
    new choice makes active (a new member of a union field and its parameters). Not
    allowed: a dimension removed, renamed or narrowed, a changed kind, step, log scale
    or parent, or a new dimension that an old configuration would lack.

    Args:
        old: The stored description (``Space.describe()``).
        new: The description of the space given now.
    """
    before = _by_name(old)
    after = _by_name(new)
    if before is None or after is None:
        return False
    for name, was in before.items():
        now = after.get(name)
        if now is None or not _holds(was, now):
            return False
    return all(_only_under_new_choices(name, before, after) for name in after.keys() - before)


def blocking(old: Description, new: Description) -> set[str] | None:
    """The names of the dimensions whose change keeps ``new`` from containing ``old``
    (removed, narrowed or otherwise changed, or new where old configurations would lack
    them); empty when :func:`widens`; ``None`` when a description has no usable names."""
    before = _by_name(old)
    after = _by_name(new)
    if before is None or after is None:
        return None
    found = {
        name for name, was in before.items() if name not in after or not _holds(was, after[name])
    }
    found.update(
        name for name in after.keys() - before if not _only_under_new_choices(name, before, after)
    )
    return found


def _by_name(description: Description) -> dict[str, Mapping[str, JSONValue]] | None:
    found: dict[str, Mapping[str, JSONValue]] = {}
    for dimension in description:
        name = dimension.get("name")
        if not isinstance(name, str) or name in found:
            return None
        found[name] = dimension
    return found


def _holds(was: Mapping[str, JSONValue], now: Mapping[str, JSONValue]) -> bool:
    """Whether dimension ``now`` takes every value of ``was``."""
    if any(was.get(field) != now.get(field) for field in _SAME):
        return False
    if was.get("kind") == "categorical":
        return _keys(was.get("choices")) <= _keys(now.get("choices"))
    low, high, new_low, new_high = (
        _number(was.get("low")),
        _number(was.get("high")),
        _number(now.get("low")),
        _number(now.get("high")),
    )
    if low is None or high is None or new_low is None or new_high is None:
        return False
    if not (new_low <= low and high <= new_high):
        return False
    step = _number(was.get("step"))
    if step is None or (was.get("kind") == "int" and step == 1):
        return True
    # The old grid low + k * step must lie on the new one.
    shift = (low - new_low) / step
    return math.isclose(shift, round(shift), rel_tol=0.0, abs_tol=1e-9)


def _only_under_new_choices(
    name: str,
    before: Mapping[str, Mapping[str, JSONValue]],
    after: Mapping[str, Mapping[str, JSONValue]],
) -> bool:
    """Whether new dimension ``name`` is active only under a choice no old
    configuration takes (so old configurations rightly lack it)."""
    seen: set[str] = set()
    while name not in seen:
        seen.add(name)
        parent = after[name].get("parent")
        if not isinstance(parent, str) or parent not in after:
            return False  # active in every configuration, old ones included
        choice = _key(after[name].get("parent_choice"))
        if choice not in _keys(after[parent].get("choices")):
            return False  # under a choice the new space does not have
        if parent not in before:
            name = parent  # under a new dimension: it must be under a new choice itself
            continue
        return choice not in _keys(before[parent].get("choices"))
    return False


def _keys(choices: JSONValue) -> set[str]:
    return {_key(choice) for choice in choices} if isinstance(choices, list) else set()


def _key(choice: JSONValue) -> str:
    # True and 1 are two choices, as in the space
    return json.dumps(choice, sort_keys=True)


def _number(value: JSONValue) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)
