"""Argument checks of the lesson-01 helpers: `arguments`' checks raising TTLInputError, so a nonsense
value gets one sentence that says what to pass."""
from __future__ import annotations

from typing import Any

from ..arguments import is_number, number
from ..errors import LabError


class TTLInputError(LabError, ValueError):
    """A nonsense argument to a lesson-01 helper (one sentence that says what to pass instead).

    Also a ValueError, so code written before the lab had its own errors still catches it.
    """


def positive(name: str, value: Any, unit: str = "seconds") -> float:
    """`value` itself, or TTLInputError unless it is a finite number above zero (of `unit`)."""
    return number(name, value, above=0, unit=unit, error=TTLInputError)


def count(name: str, value: Any) -> int:
    """`value` as an int, or TTLInputError unless it is a whole number of at least 1."""
    return number(name, value, low=1, whole=True, error=TTLInputError)


def returned_ttl(ttl: Any) -> float:
    """A TTL a learner's function returned, or TTLInputError naming the function as the culprit."""
    if not (is_number(ttl) and ttl > 0):
        raise TTLInputError(f"a TTL function must return a positive number of seconds, not {ttl!r}.")
    return ttl
