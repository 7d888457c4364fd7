"""Argument checks shared by the lesson-01 helpers: a nonsense value gets one sentence that says what to pass."""
from __future__ import annotations

import math
import numbers
from typing import Any

from ..errors import LabError


class TTLInputError(LabError, ValueError):
    """A nonsense argument to a lesson-01 helper (one sentence that says what to pass instead).

    Also a ValueError, so code written before the lab had its own errors still catches it.
    """


def positive(name: str, value: Any, what: str = "seconds") -> float:
    """`value` itself, or TTLInputError unless it is a finite number above zero."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value) or value <= 0:
        raise TTLInputError(f"{name} must be a positive number of {what}, not {value!r}.")
    return value


def count(name: str, value: Any) -> int:
    """`value` itself, or TTLInputError unless it is a whole number of at least 1."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise TTLInputError(f"{name} must be a whole number of at least 1, not {value!r}.")
    return value


def returned_ttl(ttl: Any) -> float:
    """A TTL a learner's function returned, or TTLInputError naming the function as the culprit."""
    if isinstance(ttl, bool) or not isinstance(ttl, numbers.Real) or not math.isfinite(ttl) or ttl <= 0:
        raise TTLInputError(f"a TTL function must return a positive number of seconds, not {ttl!r}.")
    return ttl
