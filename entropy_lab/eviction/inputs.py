"""The eviction helpers' checks, on `arguments`' rules: one friendly sentence instead of a traceback
from deep inside. Only the wording of a two-sided range ("between 1 and 7") is lesson 03's own."""
from __future__ import annotations

from ..arguments import is_whole, number
from ..errors import LabError


# Lesson-sized limits: a mistyped 10**9 should be one sentence, not an hour of SETs or a MemoryError.
MAX_KEYS = 1_000_000
MAX_VALUE_BYTES = 1_048_576
MAX_GETS = 1_000_000


def check_count(name: str, value: object, low: int = 0, high: int | None = None) -> int:
    """`value` as an int if it is a whole number in [low, high] (3.0 counts), else a one-sentence LabError."""
    if high is not None and is_whole(value) and not low <= value <= high:
        raise LabError(f"{name} must be between {low:,} and {high:,}, not {value!r}.")
    return number(name, value, low=low, whole=True)


def check_number(name: str, value: object, low: float = 0.0, strict: bool = False) -> float:
    """`value` as a float if it is a number >= low (> low when strict), else a LabError."""
    return float(number(name, value, above=low) if strict else number(name, value, low=low))
