"""Learner copies: generated from the solution notebooks, in sync, and runnable as handed out."""
from pathlib import Path

import pytest

from tests.notebook_runner import execute
from tools.learner_copies import LEARNER, SOURCES, learner_copy

SOURCE_FILES = sorted(SOURCES.glob("[0-9][0-9]_*.py"))


def test_one_learner_copy_per_notebook():
    assert {p.stem for p in LEARNER.glob("*.ipynb")} == {p.stem for p in SOURCE_FILES}


@pytest.mark.parametrize("source", SOURCE_FILES, ids=lambda p: p.stem)
def test_learner_copy_is_in_sync(source):
    stored = (LEARNER / f"{source.stem}.ipynb").read_text(encoding="utf-8")
    assert stored == learner_copy(source), "run python tools/learner_copies.py"
    assert '"solution"' not in stored


@pytest.mark.parametrize("source", SOURCE_FILES, ids=lambda p: p.stem)
def test_learner_copy_runs_without_errors(source):
    """Run All on an untouched copy: checks say what is missing, nothing crashes."""
    nb = execute(LEARNER / f"{source.stem}.ipynb", {"ENTROPY_LAB_BACKEND": "fake"})
    verdicts = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])
                if "❌" in str(o.get("data", {}).get("text/plain", "")) + str(o.get("text", ""))]
    assert verdicts, "an untouched exercise should fail its self-check"
