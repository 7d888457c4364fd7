"""Write workshop/learner/NN_*.ipynb: each notebook without its solution cells, verify cells or outputs.

    python tools/learner_copies.py          # write them
    python tools/learner_copies.py --check  # exit 1 if any copy is out of date

The solution notebooks' sources (notebook_src/) stay the one source of truth. Cells tagged
`solution` (worked answers) and `verify` (CI's asserts on the notebook's claims, which a learner who
changes a parameter must never trip over) stay in the solution notebooks only.
"""
from __future__ import annotations

import sys
from pathlib import Path

import jupytext
import nbformat

ROOT = Path(__file__).resolve().parent.parent
SOURCES = ROOT / "notebook_src"
LEARNER = ROOT / "workshop" / "learner"
DROPPED_TAGS = ("solution", "verify")


def learner_copy(source: Path) -> str:
    """The learner notebook for `source`, as JSON text: solution and verify cells removed, no outputs."""
    nb = jupytext.read(source)
    nb.cells = [cell for cell in nb.cells if not set(DROPPED_TAGS) & set(cell.metadata.get("tags", []))]
    nb.metadata = {
        "kernelspec": {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"},
        "language_info": {"name": "python"},
    }
    for index, cell in enumerate(nb.cells):
        cell.id = f"c{index:03d}"
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    return nbformat.writes(nb) + "\n"


def main(argv: list[str]) -> int:
    check = "--check" in argv
    stale = []
    LEARNER.mkdir(parents=True, exist_ok=True)
    for source in sorted(SOURCES.glob("[0-9][0-9]_*.py")):
        target = LEARNER / f"{source.stem}.ipynb"
        text = learner_copy(source)
        if target.exists() and target.read_text(encoding="utf-8") == text:
            continue
        stale.append(target.relative_to(ROOT))
        if not check:
            target.write_text(text, encoding="utf-8")
    if check and stale:
        print("out of date (run python tools/learner_copies.py): " + ", ".join(map(str, stale)))
        return 1
    print(f"{len(stale)} learner cop{'y' if len(stale) == 1 else 'ies'} {'stale' if check else 'written'}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
