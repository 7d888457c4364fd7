"""Exercise self-checks: one friendly line that says what is wrong and how to fix it.

Each lesson keeps its checks in `lessonNN.py`; every `check_*` function there is
available here as `entropy_lab.checks.check_*` (imported on first use).
"""
from __future__ import annotations

import contextlib
import importlib
import pkgutil
import signal
import threading
from dataclasses import dataclass


@dataclass
class Verdict:
    """The outcome of a self-check; shows as one line in a notebook."""

    passed: bool
    message: str
    hint: str | None = None

    def __str__(self) -> str:
        if self.passed:
            return f"✅ {self.message}"
        return f"❌ {self.message}" + (f" Hint: {self.hint}" if self.hint else "")

    def __repr__(self) -> str:
        return str(self)

    def __bool__(self) -> bool:
        return self.passed


def verdict(passed: bool, message: str, hint: str | None = None) -> Verdict:
    """A Verdict for a check: `message` says what was found, `hint` how to fix it."""
    return Verdict(bool(passed), message, None if passed else hint)


class TooSlow(Exception):
    """The learner's code did not finish within a check's time limit (an endless loop, usually).

    Not a TimeoutError: a socket call interrupted by it would turn a TimeoutError into redis-py's
    "Timeout writing to socket" and hide the endless loop."""


ALARM_REPEAT_S = 0.2


@contextlib.contextmanager
def time_limit(seconds: float):
    """Interrupt the learner's code with TooSlow after `seconds` (main thread on Unix; no limit
    elsewhere, e.g. in a browser kernel, which has no signals)."""
    usable = hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()
    if not usable:
        yield
        return

    def alarm(signum, frame):
        raise TooSlow(f"no answer within {seconds:g} s")

    previous = signal.signal(signal.SIGALRM, alarm)
    # then again every 0.2 s: an alarm that lands in a finalizer (__del__, a weakref callback) is
    # swallowed by Python ("Exception ignored in ..."), and a one-shot timer left an endless loop
    # running forever (seen once in CI, in the lesson 02 check's full-suite run)
    signal.setitimer(signal.ITIMER_REAL, seconds, ALARM_REPEAT_S)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _lesson_modules() -> list[str]:
    return sorted(info.name for info in pkgutil.iter_modules(__path__) if info.name.startswith("lesson"))


def __getattr__(name: str):
    """Find `check_*` names in the lesson modules on first use (lazily: some import matplotlib)."""
    if name.startswith("check_"):
        for module_name in _lesson_modules():
            module = importlib.import_module(f"{__name__}.{module_name}")
            if hasattr(module, name):
                globals()[name] = getattr(module, name)
                return globals()[name]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["TooSlow", "Verdict", "time_limit", "verdict"]
