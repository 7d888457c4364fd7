"""The instructor's schedules add up: each plan fills its session exactly, and a notebook learners
work through gets exactly the time the notebook states (tools/learning_time.py computes it)."""
import re
from pathlib import Path

import pytest

from tools.learning_time import all_estimates

GUIDE = Path(__file__).resolve().parent.parent / "workshop" / "INSTRUCTOR.md"
PLANS = {"Schedule: 3 hours": 180, "Schedule: 90 minutes": 90}


def plan_rows(title: str) -> list[dict]:
    text = GUIDE.read_text(encoding="utf-8")
    section = text.split(f"## {title}\n", 1)[1].split("\n## ", 1)[0]
    lines = [line for line in section.splitlines() if line.startswith("| ") and not line.startswith("| Start")]
    rows = []
    for line in lines:
        cells = [c.strip() for c in line.strip("|").split("|")]
        if set(cells[0]) <= {"-"}:
            continue
        rows.append(dict(start=cells[0], minutes=int(cells[1]), kind=cells[2], notebooks=cells[3]))
    return rows


def stated_minutes() -> dict[str, int]:
    return {e.notebook[:2]: e.core_minutes for e in all_estimates()}


@pytest.mark.parametrize("title, session", PLANS.items())
def test_plan_adds_up(title, session):
    rows = plan_rows(title)
    assert sum(r["minutes"] for r in rows) == session
    clock = 0
    for row in rows:  # each row starts when the previous one ends
        hours, minutes = row["start"].split(":")
        assert int(hours) * 60 + int(minutes) == clock, row
        clock += row["minutes"]
    stated = stated_minutes()
    worked = [r for r in rows if r["kind"] == "work through"]
    assert worked, "a plan gives learners at least one notebook to work through"
    for row in worked:
        assert row["minutes"] == stated[row["notebooks"]], (
            f"{title}: notebook {row['notebooks']} gets {row['minutes']} min, it states {stated[row['notebooks']]}")


def test_times_table_matches_the_notebooks():
    text = GUIDE.read_text(encoding="utf-8")
    table = dict(re.findall(r"^\| (\d\d) \| [^|]+ \| (\d+) min \|", text, re.M))
    assert {k: int(v) for k, v in table.items()} == stated_minutes()
