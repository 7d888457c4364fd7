"""Checks of the numbers a learner passes to the eviction helpers: one friendly sentence instead of a
traceback from deep inside."""
from __future__ import annotations

import math
import numbers

from ..errors import LabError


def check_count(name: str, value: object, low: int = 0, high: int | None = None) -> int:
    """`value` as an int if it is a whole number in [low, high], else a one-sentence LabError."""
    name = name[:1].upper() + name[1:] if " " in name else name
    if (isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value)
            or value != int(value)):
        raise LabError(f"{name} must be a whole number, not {value!r}.")
    if value < low or (high is not None and value > high):
        span = f"at least {low}" if high is None else f"between {low} and {high}"
        raise LabError(f"{name} must be {span}, not {value!r}.")
    return int(value)


def check_number(name: str, value: object, low: float = 0.0, strict: bool = False) -> float:
    """`value` as a float if it is a number >= low (> low when strict), else a LabError."""
    name = name[:1].upper() + name[1:] if " " in name else name
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value):
        raise LabError(f"{name} must be a number, not {value!r}.")
    if value < low or (strict and value == low):
        raise LabError(f"{name} must be {'more than' if strict else 'at least'} {low:g}, not {value!r}.")
    return float(value)
