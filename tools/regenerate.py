"""Build notebooks/NN_*.ipynb from notebook_src/NN_*.py and store fake-mode outputs.

    python tools/regenerate.py                 # every notebook
    python tools/regenerate.py notebook_src/00_watch_a_cache_decay.py

The .py sources (jupytext percent format) are the one source of truth. Outputs come
from a fresh kernel on the embedded fake backend and are made byte-for-byte
reproducible: no timings, stable widget ids, no machine-specific metadata.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import sys
import time
from pathlib import Path

import jupytext
import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parent.parent
SOURCES = ROOT / "notebook_src"
NOTEBOOKS = ROOT / "notebooks"
KERNEL = "python3"
MODEL_ID = re.compile(r'"model_id": "([0-9a-f]{32})"')


def fake_mode_environment() -> None:
    """The environment the stored outputs are made in (inherited by the kernel)."""
    for name in ("ENTROPY_LAB_REDIS_URL", "REDIS_URL", "MPLBACKEND"):
        os.environ.pop(name, None)
    os.environ["ENTROPY_LAB_BACKEND"] = "fake"
    os.environ["SOURCE_DATE_EPOCH"] = "0"
    os.environ["PYTHONHASHSEED"] = "0"


def build(source: Path) -> nbformat.NotebookNode:
    """The notebook's cells from its source, with a stable kernelspec."""
    nb = jupytext.read(source)
    nb.metadata = {
        "kernelspec": {"display_name": "Python 3 (ipykernel)", "language": "python", "name": KERNEL},
        "language_info": {"name": "python"},
    }
    for index, cell in enumerate(nb.cells):
        cell.id = f"c{index:03d}"
    return nb


def execute(nb: nbformat.NotebookNode, timeout: int = 300) -> None:
    client = NotebookClient(nb, timeout=timeout, kernel_name=KERNEL, record_timing=False,
                            resources={"metadata": {"path": str(NOTEBOOKS)}})
    client.execute()


def merge_streams(outputs: list) -> list:
    """Join consecutive stream outputs of the same name: a busy kernel may split one print in two."""
    merged: list = []
    for output in outputs:
        previous = merged[-1] if merged else None
        if (output.output_type == "stream" and previous is not None and previous.output_type == "stream"
                and previous.name == output.name):
            previous.text += output.text
        else:
            merged.append(output)
    return merged


def normalise(nb: nbformat.NotebookNode, name: str) -> str:
    """The notebook as JSON text with widget ids derived from its name, metadata trimmed."""
    nb.metadata.pop("widgets", None)
    nb.metadata["language_info"] = {"name": "python"}
    for cell in nb.cells:
        cell.metadata.pop("execution", None)
        if cell.cell_type == "code":
            cell.outputs = merge_streams(cell.outputs)
    text = json.dumps(nb, indent=1, sort_keys=True, ensure_ascii=False) + "\n"
    order: dict[str, str] = {}
    for model_id in MODEL_ID.findall(text):
        order.setdefault(model_id, hashlib.sha256(f"{name}:{len(order)}".encode()).hexdigest()[:32])
    for old, new in order.items():
        text = text.replace(old, new)
    return text


def target_of(source: Path) -> Path:
    return NOTEBOOKS / f"{source.stem}.ipynb"


def regenerate(source: Path) -> float:
    started = time.perf_counter()
    nb = build(source)
    execute(nb)
    target_of(source).write_text(normalise(nb, source.stem), encoding="utf-8")
    return time.perf_counter() - started


def main(argv: list[str]) -> int:
    fake_mode_environment()
    sources = [Path(a).resolve() for a in argv] or sorted(SOURCES.glob("[0-9][0-9]_*.py"))
    for source in sources:
        seconds = regenerate(source)
        print(f"{target_of(source).relative_to(ROOT)}: executed in {seconds:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
