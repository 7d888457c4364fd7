"""Friendly errors: one clear sentence and a way out, not a 40-line traceback."""
from __future__ import annotations


class LabError(Exception):
    """A learner-facing error. Jupyter shows it as a single line."""

    def _render_traceback_(self) -> list[str]:
        # IPython calls this instead of printing the traceback.
        return [f"\x1b[31mLabError\x1b[0m: {self}"]
