"""Exercise self-checks: one friendly line that says what is wrong and how to fix it.

Each lesson keeps its checks in `lessonNN.py`; every `check_*` function there is
available here as `entropy_lab.checks.check_*`.
"""
from __future__ import annotations

import importlib
import pkgutil
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


def _collect_lesson_checks() -> list[str]:
    names = []
    for info in pkgutil.iter_modules(__path__):
        if not info.name.startswith("lesson"):
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        for name in dir(module):
            if name.startswith("check_"):
                globals()[name] = getattr(module, name)
                names.append(name)
    return names


__all__ = ["Verdict", "verdict", *_collect_lesson_checks()]
