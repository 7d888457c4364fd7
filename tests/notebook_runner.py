"""Run a stored notebook in a fresh kernel under a chosen environment (for live tests)."""
from __future__ import annotations

import os
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))


def execute(path: Path, env: dict[str, str], timeout: int = 300) -> nbformat.NotebookNode:
    """Execute `path` with `env` applied to the kernel; raises CellExecutionError on an error."""
    nb = nbformat.read(path, as_version=4)
    saved = dict(os.environ)
    os.environ.pop("MPLBACKEND", None)
    os.environ.update(env)
    try:
        NotebookClient(nb, timeout=timeout, kernel_name="python3",
                       resources={"metadata": {"path": str(path.parent)}}).execute()
    finally:
        os.environ.clear()
        os.environ.update(saved)
    return nb
