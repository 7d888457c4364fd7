"""The lab's clock: virtual in fake mode, the wall clock against a real server.

A fake server reads this clock, so waiting for a TTL in fake mode advances time
instantly and the stored notebook outputs never depend on how fast a machine is.
A real Redis cannot be time-travelled, so in live and server mode `sleep` waits.
"""
from __future__ import annotations

import threading
import time as _time
from typing import Protocol, runtime_checkable

from .arguments import is_number
from .errors import LabError

# 2026-01-01T00:00:00Z: a fixed start keeps fake-mode outputs identical run to run.
VIRTUAL_EPOCH = 1_767_225_600.0


class DurationError(LabError, ValueError):
    """A sleep of a negative, infinite or non-numeric duration."""


def duration(seconds: object) -> float:
    """`seconds` if it is a finite number, 0 or more: an infinite sleep would stop a virtual clock
    for good (every later command fails) and hang a real one."""
    if not is_number(seconds) or seconds < 0:
        raise DurationError(f"lab.sleep needs a finite number of seconds, 0 or more (such as 5), not {seconds!r}.")
    return float(seconds)


@runtime_checkable
class Clock(Protocol):
    """What the lab needs from a clock: a fake server reads `time()`, lessons wait with `sleep()`.

    `virtual` says whether `sleep` moves time instantly (a VirtualClock) or really waits."""

    virtual: bool

    def time(self) -> float:
        """Seconds since the epoch."""
        ...

    def sleep(self, seconds: float) -> None:
        """Let `seconds` pass."""
        ...


class VirtualClock:
    """Time that moves only when told to (thread-safe)."""

    virtual = True

    def __init__(self, start: float = VIRTUAL_EPOCH) -> None:
        self._now = float(start)
        self._lock = threading.Lock()

    def time(self) -> float:
        return self._now

    def sleep(self, seconds: float) -> None:
        """Advance time by `seconds` without waiting."""
        seconds = duration(seconds)
        with self._lock:
            self._now += seconds

    advance = sleep

    def __repr__(self) -> str:
        return f"VirtualClock(t={self._now - VIRTUAL_EPOCH:.3f}s)"


class RealClock:
    """The wall clock; `sleep` really waits."""

    virtual = False

    def time(self) -> float:
        return _time.time()

    def sleep(self, seconds: float) -> None:
        _time.sleep(duration(seconds))

    def __repr__(self) -> str:
        return "RealClock()"


_active: Clock = RealClock()
_virtual = VirtualClock()


def virtual() -> VirtualClock:
    """The process's one virtual clock, shared by every fake server."""
    return _virtual


def active() -> Clock:
    """The clock lessons use now (set by `entropy_lab.connect`)."""
    return _active


def use(clock: Clock) -> None:
    """Make `clock` the lab's active clock."""
    global _active
    _active = clock


def now() -> float:
    """Seconds since the epoch on the active clock."""
    return _active.time()


def sleep(seconds: float) -> None:
    """Wait `seconds` on the active clock: instant in fake mode, real otherwise."""
    _active.sleep(seconds)
