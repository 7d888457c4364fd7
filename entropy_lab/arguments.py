"""Checks of the numbers a learner passes to a helper: one `LabError` sentence, never a traceback.

A notebook helper called with nonsense (a negative rate, 2.5 keys, NaN seconds) should say which
argument is wrong and what to pass instead, before it loops forever or divides by zero.
"""
from __future__ import annotations

import math
import numbers

from .errors import LabError


def number(name: str, value: object, low: float | None = None, high: float | None = None,
           above: float | None = None, whole: bool = False) -> float:
    """`value` if it is a finite number within the bounds, else a LabError that says which argument and how.

    `low`/`high` are inclusive bounds, `above` an exclusive lower bound; `whole` asks for an int.
    """
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    if whole:
        ok = ok and float(value).is_integer()
    ok = ok and (low is None or value >= low) and (high is None or value <= high) and (above is None or value > above)
    if not ok:
        kind = "a whole number" if whole else "a number"
        bounds = [f"at least {low:g}" if low is not None else "", f"above {above:g}" if above is not None else "",
                  f"at most {high:g}" if high is not None else ""]
        where = " and ".join(b for b in bounds if b)
        raise LabError(f"{name}={value!r}: use {kind}{' ' + where if where else ''}.")
    return value


def whole_number(what: str, value: object, minimum: int = 0, maximum: int | None = None) -> int:
    """`value` as an int if it is a whole number in range, else a one-sentence LabError naming `what`."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise LabError(f"{what} must be a whole number, not {value!r}.")
    if value < minimum or (maximum is not None and value > maximum):
        upper = f" and at most {maximum:,}" if maximum is not None else ""
        raise LabError(f"{what} must be at least {minimum:,}{upper}, not {value:,}.")
    return int(value)
