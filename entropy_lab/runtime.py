"""Where the lab's Python runs: a desktop kernel, or a browser (Pyodide, JupyterLite).

A browser kernel has no threads, subprocesses or sockets: the fake backend works there, the live
and private-server backends cannot, and anything concurrent runs in the foreground instead.
"""
from __future__ import annotations

import sys

BROWSER_NOTE = ("this kernel runs inside your browser (JupyterLite), which has no sockets or subprocesses, "
                "so only the embedded fake Redis works here; for a real Redis, run the notebooks in a local "
                "Jupyter or on Binder.")


def in_browser() -> bool:
    """True inside Pyodide (JupyterLite's kernel)."""
    return sys.platform == "emscripten"
