"""Checks of what a learner passes to the monitoring helpers: one `LabError` sentence each.

A helper called with nonsense (a URL instead of a client, 2.5 ticks, a list instead of a
snapshot) says which argument is wrong and what to pass instead, never a deep traceback.
"""
from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import numpy as np
import redis

from ..errors import LabError


def is_number(value: Any) -> bool:
    """True for ints and floats (numpy's included), False for bools and anything else."""
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)


def need_client(client: Any, what: str) -> None:
    if not isinstance(client, redis.Redis):
        raise LabError(f"{what} needs a Redis client (r = lab.connect() or a sandbox), not {type(client).__name__}.")


def need_whole(value: Any, name: str, least: int = 1, none_ok: bool = False) -> None:
    if none_ok and value is None:
        return
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < least:
        raise LabError(f"{name} must be a whole number of at least {least}, not {value!r}.")


def need_number(value: Any, name: str, least: float | None = None, positive: bool = False,
                none_ok: bool = False) -> None:
    if none_ok and value is None:
        return
    bad = (not is_number(value) or math.isnan(value) or (positive and value <= 0)
           or (least is not None and value < least))
    if bad:
        limit = " above 0" if positive else (f" of at least {least:g}" if least is not None else "")
        raise LabError(f"{name} must be a number{limit}, not {value!r}.")


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
