"""Checks of the numbers a learner passes to a helper: one `LabError` sentence, never a traceback.

A notebook helper called with nonsense (a negative rate, 2.5 keys, NaN seconds) should say which
argument is wrong and what to pass instead, before it loops forever or divides by zero. This is the
one home of "is this a number / a whole number / in range"; the lessons' `inputs` modules only name
their arguments and pick their error class.
"""
from __future__ import annotations

import math
import numbers

from .errors import LabError


def is_number(value: object) -> bool:
    """True for a finite int or float (numpy's included); False for bools, NaN, infinities, ints too
    big for a float (10**400: every helper computes in floats) and the rest."""
    if not isinstance(value, numbers.Real) or isinstance(value, bool):
        return False
    try:
        return math.isfinite(float(value))
    except OverflowError:
        return False


def is_whole(value: object) -> bool:
    """True for a finite number with nothing after the point (3 and 3.0, not 2.5 or True)."""
    return is_number(value) and (isinstance(value, numbers.Integral) or float(value).is_integer())


def number(name: str, value: object, low: float | None = None, high: float | None = None,
           above: float | None = None, whole: bool = False, unit: str = "",
           error: type[LabError] = LabError) -> float:
    """`value` if it is a finite number within the bounds (an int when `whole`), else `error`.

    `low`/`high` are inclusive bounds, `above` an exclusive lower bound; `unit` ("seconds") goes into
    the sentence. The sentence says what to pass: "n_keys must be a whole number of at least 1, not 2.5."
    """
    limits = _limits(low, high, above)
    if not (is_whole(value) if whole else is_number(value)):
        kind = ("a whole number" if whole else "a number") + (f" of {unit}" if unit else "")
        joiner = " of " if limits.startswith("at ") and not unit else " "
        raise error(f"{name} must be {kind}{joiner + limits if limits else ''}, not {_shown(value)}.")
    if not ((low is None or value >= low) and (high is None or value <= high) and (above is None or value > above)):
        raise error(f"{name} must be {limits}{' ' + unit if unit else ''}, not {_shown(value)}.")
    return int(value) if whole else value


def whole_number(name: str, value: object, low: int = 0, high: int | None = None,
                 error: type[LabError] = LabError) -> int:
    """`value` as an int if it is a whole number in [low, high], else `error` naming `name`."""
    return number(name, value, low=low, high=high, whole=True, error=error)


def _limits(low: float | None, high: float | None, above: float | None) -> str:
    """The bounds in words: "at least 1", "more than 0", "at least 0 and at most 1"."""
    words = [f"at least {_shown(low)}" if low is not None else "",
             f"more than {_shown(above)}" if above is not None else "",
             f"at most {_shown(high)}" if high is not None else ""]
    return " and ".join(w for w in words if w)


def _shown(value: object) -> str:
    """A number as a learner writes it (1,000 and 0.5; numpy's scalars without their type), else its repr."""
    if not is_number(value):
        return repr(value)
    if isinstance(value, numbers.Integral):
        return f"{int(value):,}"
    return f"{float(value):g}"
