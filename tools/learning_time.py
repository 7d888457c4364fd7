"""Estimate each notebook's learner time from what a learner has to read, run and solve.

    python tools/learning_time.py          # the table
    python tools/learning_time.py --json   # the same figures as JSON

It reads the notebook sources (notebook_src/NN_*.py) as a learner sees them: cells tagged
`verify` or `solution` are left out (learner copies drop them), and the quiz's questions and
options (workshop/quizzes.json) are read too. The rates it assumes:

- Prose: 150 words a minute. Adults read non-fiction at about 240 words a minute
  (Brysbaert 2019, a meta-analysis of 190 studies); technical text read to be understood, with
  tables and a figure to look at now and then, goes at well under that: 150 is a common figure for
  technical reading and about two thirds of the casual rate.
- 1 minute per code cell, to read it, run it and look at what it printed or drew. The cells are
  short (1-6 lines, about 18 words on average), so the minute covers reading the code too:
  code words are counted and reported, not timed separately (that would count the same minute
  twice). Most cells answer in under a second; the learner's time goes into comparing the output
  with the prose before going on.
- 10 minutes per ⭐ of exercise difficulty (an exercise heading "🧪 Exercise ... (⭐⭐)" is 20):
  a one-star exercise is writing a few lines and running its check, once or twice; each star
  more is another idea to combine. The exercise's own text and cells are counted on top.
- Optional deep dives (sections whose heading starts with "Optional deep dive", up to the next
  heading of the same or a higher level) are counted separately: the core figure leaves them out,
  the full figure adds them.
- "Going further" sections (extension tasks for learners who finish early) are in neither figure:
  they are open-ended, a workshop does not schedule them, and a learner who has the time takes
  what they like from them. Their words are reported on their own.

Totals are rounded up to the next 5 minutes: the estimate is not precise to the minute, and a
workshop plan is made of 5-minute blocks. Each notebook's "**Time to learn:**" paragraph is not
counted (it states this script's figure; counting it would make the figure depend on itself).
tests/test_learning_time.py checks that every notebook states exactly these figures.
"""
from __future__ import annotations

import json
import math
import re
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path

import jupytext

ROOT = Path(__file__).resolve().parent.parent
PROSE_WPM = 150
MIN_PER_CELL = 1.0
MIN_PER_STAR = 10
ROUND_TO = 5
HIDDEN_TAGS = {"verify", "solution"}
HEADING = re.compile(r"^(#{1,6})\s+(.*)$")
TIME_LINE = "**Time to learn:**"
EXTENSION_HEADING = "going further"


@dataclass
class Part:
    words: int = 0
    code_words: int = 0
    code_cells: int = 0
    stars: int = 0
    exercises: list = field(default_factory=list)

    def minutes(self) -> float:
        return (self.words / PROSE_WPM + self.code_cells * MIN_PER_CELL + self.stars * MIN_PER_STAR)


@dataclass
class Estimate:
    notebook: str
    core: Part
    deep: Part
    quiz_words: int
    extension_words: int = 0

    @property
    def core_minutes(self) -> int:
        return round_up(self.core.minutes() + self.quiz_words / PROSE_WPM)

    @property
    def full_minutes(self) -> int:
        return round_up(self.core.minutes() + self.deep.minutes() + self.quiz_words / PROSE_WPM)

    def statement(self) -> str:
        """What the notebook's "Time to learn" line must say."""
        if self.deep.minutes() and self.full_minutes != self.core_minutes:
            return (f"{TIME_LINE} {self.core_minutes} minutes, {self.full_minutes} with the "
                    "optional deep dives")
        return f"{TIME_LINE} {self.core_minutes} minutes"


def round_up(minutes: float) -> int:
    return int(math.ceil(minutes / ROUND_TO - 1e-9) * ROUND_TO)


def words(text: str) -> int:
    """Tokens a reader reads: link targets, HTML tags and table rules left out."""
    text = re.sub(r"\]\([^)]*\)", "]", text)
    text = re.sub(r"<[^>]+>", " ", text)
    return sum(1 for token in text.split() if re.search(r"\w", token))


def drop_time_paragraph(text: str) -> str:
    """The markdown without the "Time to learn" paragraph (up to the next blank line)."""
    out, skipping = [], False
    for line in text.splitlines():
        if TIME_LINE in line:
            skipping = True
        elif skipping and not line.strip():
            skipping = False
        if not skipping:
            out.append(line)
    return "\n".join(out)


def quiz_words(nb: str) -> int:
    path = ROOT / "workshop" / "quizzes.json"
    if not path.exists():
        return 0
    qs = json.loads(path.read_text(encoding="utf-8")).get(nb, [])
    return sum(words(q["question"]) + sum(words(o) for o in q["options"]) for q in qs)


def estimate(source: Path) -> Estimate:
    core, deep, extension = Part(), Part(), Part()
    section = core
    level_of_section = None  # heading level of the deep dive or extension we are in, if any
    for cell in jupytext.read(source).cells:
        if HIDDEN_TAGS & set(cell.metadata.get("tags", [])):
            continue
        if cell.cell_type == "code":
            section.code_cells += 1
            section.code_words += words(cell.source)
            continue
        for line in drop_time_paragraph(cell.source).splitlines():
            match = HEADING.match(line)
            if match:
                level, title = len(match.group(1)), match.group(2)
                if level_of_section and level <= level_of_section:
                    section, level_of_section = core, None
                if title.lower().startswith("optional deep dive"):
                    section, level_of_section = deep, level
                elif title.lower().startswith(EXTENSION_HEADING):
                    section, level_of_section = extension, level
                if "Exercise" in title:
                    section.stars += title.count("⭐")
                    section.exercises.append(title.count("⭐"))
            section.words += words(line)
    return Estimate(source.stem, core, deep, quiz_words(source.stem[:2]),
                    extension.words + extension.code_words)


def all_estimates() -> list[Estimate]:
    return [estimate(p) for p in sorted((ROOT / "notebook_src").glob("[0-9][0-9]_*.py"))]


def rates() -> str:
    return (f"Rates: prose {PROSE_WPM} words/min, {MIN_PER_CELL:g} min per code cell (read it, run it, "
            f"read its output; code words are reported, not timed separately), {MIN_PER_STAR} min per ⭐ of exercise difficulty; "
            f"totals rounded up to {ROUND_TO} min. Hidden verify/solution cells are not counted; quiz "
            "questions are read as prose. Deep dives = sections headed \"Optional deep dive\"; \"Going further\" "
            "sections (extension tasks) are in neither figure.")


def table(estimates: list[Estimate]) -> str:
    head = ("notebook", "prose words", "code words", "code cells", "exercises (⭐)",
            "deep-dive words", "deep-dive cells", "core min", "with deep dives", "going-further words")
    rows = []
    for e in estimates:
        stars = " + ".join("⭐" * s for s in e.core.exercises) or "none"
        rows.append((e.notebook, f"{e.core.words + e.quiz_words:,}", f"{e.core.code_words:,}",
                     str(e.core.code_cells), f"{len(e.core.exercises)} ({stars})",
                     f"{e.deep.words + e.deep.code_words:,}", str(e.deep.code_cells),
                     str(e.core_minutes), str(e.full_minutes), f"{e.extension_words:,}"))
    total = ("total", "", "", "", "", "", "", str(sum(e.core_minutes for e in estimates)),
             str(sum(e.full_minutes for e in estimates)), "")
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(r) + " |" for r in rows + [total]]
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    estimates = all_estimates()
    if "--json" in argv:
        print(json.dumps({e.notebook: {"core_minutes": e.core_minutes, "full_minutes": e.full_minutes,
                                       "core": asdict(e.core), "deep": asdict(e.deep),
                                       "quiz_words": e.quiz_words, "extension_words": e.extension_words,
                                       "statement": e.statement()}
                          for e in estimates}, indent=1, ensure_ascii=False))
        return 0
    print(rates())
    print()
    print(table(estimates))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
