"""Checks for understanding: a few multiple-choice questions at the end of each notebook.

The questions live in ONE file, ``workshop/quizzes.json`` (the slides read it too)::

    {"03": [{"question": "...", "options": ["...", "..."], "answer": 1, "explanation": "..."}]}

``answer`` is the index of the right option. ``show("03")`` displays the questions:

- in JupyterLab (and JupyterLite, VS Code, Notebook 7 with ipywidgets) as widgets: a set of
  radio buttons per question, a Check button, and feedback that explains the answer once it is
  found (or after two wrong tries);
- everywhere else (GitHub, nbviewer, an untrusted notebook, a terminal) as plain text and
  markdown: every question and option, answers hidden.

No threads, no randomness: stored outputs stay byte-stable and a browser kernel can run it.
"""
from __future__ import annotations

import json
import re
from functools import lru_cache
from pathlib import Path

import ipywidgets as widgets
from IPython.display import display

_HERE = Path(__file__).resolve().parent
# The repository's file (editable installs, Binder, CI); then relative to the kernel's folder, for
# an installed wheel, which does not carry it: a JupyterLite drive with quizzes.json at its root.
CANDIDATES = (_HERE.parent / "workshop" / "quizzes.json",
              Path("workshop") / "quizzes.json",
              Path("..") / "workshop" / "quizzes.json",
              Path("quizzes.json"),
              Path("..") / "quizzes.json")
LETTERS = "abcdefgh"
TRIES_BEFORE_REVEAL = 2
WHERE_ANSWERS = ("Answers: run this cell in JupyterLab to check yours, "
                 "or see workshop/quizzes.json in the repository.")


def quiz_file() -> Path | None:
    """The quizzes.json this lab reads (the repository's), or None when it cannot be found."""
    return next((p for p in CANDIDATES if p.is_file()), None)


@lru_cache(maxsize=None)
def _load(path: str) -> dict:
    return json.loads(Path(path).read_text(encoding="utf-8"))


def load(path: str | Path | None = None) -> dict:
    """Every quiz: {"00": [question, ...], ...}."""
    path = path or quiz_file()
    if path is None:
        return {}
    return _load(str(path))


def questions(notebook: str, path: str | Path | None = None) -> list[dict]:
    """The questions of one notebook ("03" or 3); an empty list if it has none."""
    return list(load(path).get(f"{int(notebook):02d}", []))


def as_markdown(notebook: str, path: str | Path | None = None, bold: str = "**",
                italic: str = "*") -> str:
    """Questions and options as markdown, answers and explanations left out."""
    qs = questions(notebook, path)
    if not qs:
        return (f"No questions found for notebook {notebook}: they live in workshop/quizzes.json "
                "in the repository.")
    lines = [f"{bold}Check your understanding{bold} ({len(qs)} questions)", ""]
    for n, q in enumerate(qs, 1):
        lines += [f"{bold}{n}.{bold} {q['question']}", ""]
        lines += [f"- ({LETTERS[i]}) {option}" for i, option in enumerate(q["options"])]
        lines.append("")
    lines.append(f"{italic}{WHERE_ANSWERS}{italic}")
    return "\n".join(lines)


def as_text(notebook: str, path: str | Path | None = None) -> str:
    """The same as plain text (what a terminal or a widget-less viewer shows)."""
    return as_markdown(notebook, path, bold="", italic="")


class Question:
    """One question as widgets: radio buttons, a Check button, a feedback line."""

    def __init__(self, number: int, q: dict):
        self.q = q
        self.tries = 0
        self.label = widgets.HTML(f"<b>{number}.</b> {_html(q['question'])}")
        self.choice = widgets.RadioButtons(options=[(o, i) for i, o in enumerate(q["options"])],
                                           index=None, layout=widgets.Layout(width="auto"))
        self.button = widgets.Button(description="Check", button_style="primary")
        self.feedback = widgets.HTML("")
        self.button.on_click(lambda _button: self.check())
        self.widget = widgets.VBox([self.label, self.choice, self.button, self.feedback])

    def check(self) -> str:
        """Judge the selected option and show (and return) the feedback."""
        picked = self.choice.value
        if picked is None:
            text = "Pick an option first."
        elif picked == self.q["answer"]:
            text = f"✅ Right. {self.q['explanation']}"
        else:
            self.tries += 1
            if self.tries >= TRIES_BEFORE_REVEAL:
                right = self.q["options"][self.q["answer"]]
                text = (f"❌ Not this one. The answer is ({LETTERS[self.q['answer']]}) {right}. "
                        f"{self.q['explanation']}")
            else:
                text = "❌ Not this one: look back at what the notebook measured and try another option."
        self.feedback.value = _html(text)
        return text


class Quiz:
    """A notebook's questions: widgets where they render, plain text and markdown elsewhere."""

    def __init__(self, notebook: str, path: str | Path | None = None):
        self.notebook = f"{int(notebook):02d}"
        self.path = path
        self.questions = [Question(n, q) for n, q in enumerate(questions(notebook, path), 1)]
        self.widget = widgets.VBox([widgets.HTML("<b>Check your understanding</b>")]
                                   + [q.widget for q in self.questions])

    def _repr_mimebundle_(self, include=None, exclude=None):
        bundle = self.widget._repr_mimebundle_(include=include, exclude=exclude)
        if isinstance(bundle, tuple):
            bundle = bundle[0]
        bundle = dict(bundle or {})
        bundle["text/plain"] = as_text(self.notebook, self.path)
        bundle["text/markdown"] = as_markdown(self.notebook, self.path)
        return bundle


def show(notebook: str, path: str | Path | None = None) -> None:
    """Display one notebook's quiz (widgets in JupyterLab, text elsewhere)."""
    display(Quiz(notebook, path))


def _html(text: str) -> str:
    """Escaped HTML, with `code` spans kept as code."""
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return re.sub(r"`([^`]+)`", r"<code>\1</code>", text)
