"""The stored notebooks are built from notebook_src/ and carry outputs nbval can compare."""
import json
import re
from pathlib import Path

import jupytext
import pytest

ROOT = Path(__file__).resolve().parent.parent
SOURCES = sorted((ROOT / "notebook_src").glob("[0-9][0-9]_*.py"))


def test_every_source_has_a_notebook_and_back():
    built = {p.stem for p in (ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")}
    assert built == {p.stem for p in SOURCES}


@pytest.mark.parametrize("source", SOURCES, ids=lambda p: p.stem)
def test_notebook_matches_its_source(source):
    expected = jupytext.read(source).cells
    stored = json.loads((ROOT / "notebooks" / f"{source.stem}.ipynb").read_text())["cells"]
    assert [(c.cell_type, c.source, c.metadata.get("tags", [])) for c in expected] == \
           [(c["cell_type"], "".join(c["source"]), c["metadata"].get("tags", [])) for c in stored], \
        f"notebooks/{source.stem}.ipynb is out of date: run python tools/regenerate.py {source.relative_to(ROOT)}"


@pytest.mark.parametrize("source", SOURCES, ids=lambda p: p.stem)
def test_stored_outputs_are_complete_and_clean(source):
    nb = json.loads((ROOT / "notebooks" / f"{source.stem}.ipynb").read_text())
    code = [c for c in nb["cells"] if c["cell_type"] == "code" and "".join(c["source"]).strip()]
    assert all(c["execution_count"] is not None for c in code), "unexecuted cells are not compared by nbval"
    outputs = json.dumps([c["outputs"] for c in code])
    assert not re.search(r"/(tmp|home|root|work)/[\w.-]+", outputs), "machine paths in outputs"
    assert '"name": "stderr"' not in outputs, "warnings in stored outputs fail nbval on any change"
    errors = [c for c in code for o in c["outputs"] if o["output_type"] == "error"
              and "raises-exception" not in c["metadata"].get("tags", [])]
    assert not errors


@pytest.mark.parametrize("source", SOURCES, ids=lambda p: p.stem)
def test_notebook_follows_the_template(source):
    text = source.read_text()
    for heading in ("## What you'll learn", "## What you need", "## Summary", "## What's next"):
        assert heading in text, f"{source.name} lacks {heading!r}"
    assert 'tags=["solution"]' in text and "check_" in text, "an exercise with a check and a solution"


LEARNER_HIDDEN = {"solution", "verify"}


def learner_visible_code(source):
    return [c for c in jupytext.read(source).cells
            if c.cell_type == "code" and not LEARNER_HIDDEN & set(c.metadata.get("tags", []))]


@pytest.mark.parametrize("source", SOURCES, ids=lambda p: p.stem)
def test_learner_visible_cells_assert_nothing(source):
    """A learner who changes a parameter must never meet an AssertionError: claims live in cells
    tagged `verify` (CI runs them; learner copies drop them)."""
    offending = [c.source.splitlines()[0] for c in learner_visible_code(source)
                 if re.search(r"^\s*assert\b", c.source, re.M)]
    assert not offending, f"{source.name}: asserts in learner-visible cells starting {offending[:3]}"


@pytest.mark.parametrize("source", SOURCES, ids=lambda p: p.stem)
def test_no_cell_raises_on_purpose(source):
    """JupyterLab's Run All stops at the first cell that raises, tag or not: show errors by catching them."""
    tagged = [c for c in jupytext.read(source).cells if "raises-exception" in c.metadata.get("tags", [])]
    assert not tagged, f"{source.name}: a cell tagged raises-exception stops Run All in JupyterLab"
