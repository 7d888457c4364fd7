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


LEARNER = ROOT / "workshop" / "learner"


def error_outputs(nb: nbformat.NotebookNode) -> list[str]:
    """Every error shown by a code cell, as 'ename: evalue' (what a learner would see as a traceback)."""
    return [f"{o.get('ename')}: {o.get('evalue')}" for c in nb.cells if c.cell_type == "code"
            for o in c.get("outputs", []) if o.get("output_type") == "error"]


def run_learner_copy_with_knob(stem: str, old: str, new: str, env: dict[str, str] | None = None,
                               timeout: int = 300) -> nbformat.NotebookNode:
    """Run All on the learner copy of `stem` after a learner's edit: the code text `old` (which must
    appear in exactly one code cell) becomes `new`. Cells may fail their self-checks (❌), but none
    may raise: a changed parameter gets a friendly note, never a traceback."""
    path = LEARNER / f"{stem}.ipynb"
    nb = nbformat.read(path, as_version=4)
    cells = [c for c in nb.cells if c.cell_type == "code" and old in c.source]
    assert len(cells) == 1, f"{stem}: the knob {old!r} is in {len(cells)} learner-copy cells, not 1"
    cells[0].source = cells[0].source.replace(old, new)
    saved = dict(os.environ)
    os.environ.pop("MPLBACKEND", None)
    os.environ.update(env or {"ENTROPY_LAB_BACKEND": "fake"})
    try:
        NotebookClient(nb, timeout=timeout, kernel_name="python3", allow_errors=True,
                       resources={"metadata": {"path": str(path.parent)}}).execute()
    finally:
        os.environ.clear()
        os.environ.update(saved)
    errors = error_outputs(nb)
    assert not errors, f"{stem} with {new!r} instead of {old!r} shows errors: {errors}"
    return nb


def solution_function(stem: str, name: str, scope: dict | None = None):
    """The function `name` exactly as the notebook's solution cell defines it (not a copy in a test),
    run in a fresh namespace holding `scope` (the names the cell expects from earlier cells)."""
    import jupytext

    cells = jupytext.read(ROOT / "notebook_src" / f"{stem}.py").cells
    source = next(c.source for c in cells if "solution" in c.metadata.get("tags", []) and f"def {name}(" in c.source)
    namespace = dict(scope or {})
    exec(compile(source, f"{stem}:solution:{name}", "exec"), namespace)
    return namespace[name]
