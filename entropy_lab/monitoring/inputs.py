"""Checks of what a learner passes to the monitoring helpers: one `LabError` sentence each.

A helper called with nonsense (a URL instead of a client, 2.5 ticks, a list instead of a
snapshot) says which argument is wrong and what to pass instead, never a deep traceback.
"""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import redis

from ..arguments import is_number, number
from ..errors import LabError


def need_client(client: Any, what: str) -> None:
    if not isinstance(client, redis.Redis):
        raise LabError(f"{what} needs a Redis client (r = lab.connect() or a sandbox), not {type(client).__name__}.")


def need_whole(value: Any, name: str, least: int = 1, none_ok: bool = False) -> None:
    """A LabError unless `value` is a whole number of at least `least` (or None, when `none_ok`)."""
    if not (none_ok and value is None):
        number(name, value, low=least, whole=True)


def need_number(value: Any, name: str, least: float | None = None, positive: bool = False,
                none_ok: bool = False) -> None:
    """A LabError unless `value` is a finite number (above 0 when `positive`), or None when `none_ok`."""
    if not (none_ok and value is None):
        number(name, value, low=least, above=0 if positive else None)


def need_snapshot(snap: Any, fields: Iterable[str], role: str = "snapshot") -> None:
    """`snap` must be a dict from `mon.snapshot` holding numbers for `fields` (`t` may be anything)."""
    if not isinstance(snap, dict):
        raise LabError(f"the {role} must be a dict from mon.snapshot(r), not {type(snap).__name__}.")
    missing = [name for name in fields if name not in snap]
    if missing:
        raise LabError(f"the {role} has no {missing[0]!r}: take it with mon.snapshot(r).")
    for name in fields:
        if name != "t" and not is_number(snap[name]):
            raise LabError(f"the {role}'s {name!r} is {snap[name]!r}, not a number: take it with mon.snapshot(r).")
