"""Checks for understanding: workshop/quizzes.json and entropy_lab.quiz."""
import json
import re
from pathlib import Path

import ipywidgets as widgets
import pytest

from entropy_lab import quiz

ROOT = Path(__file__).resolve().parent.parent
QUIZZES = ROOT / "workshop" / "quizzes.json"
DATA = json.loads(QUIZZES.read_text(encoding="utf-8"))
NOTEBOOKS = sorted(p.stem[:2] for p in (ROOT / "notebook_src").glob("[0-9][0-9]_*.py"))


def test_every_notebook_has_a_quiz_and_nothing_else():
    assert sorted(DATA) == NOTEBOOKS


@pytest.mark.parametrize("nb", NOTEBOOKS)
def test_schema(nb):
    qs = DATA[nb]
    assert 2 <= len(qs) <= 4
    for q in qs:
        assert set(q) == {"question", "options", "answer", "explanation"}, q
        assert isinstance(q["question"], str) and q["question"].strip().endswith("?")
        assert isinstance(q["options"], list) and 2 <= len(q["options"]) <= 5
        assert all(isinstance(o, str) and o.strip() for o in q["options"])
        assert len(set(q["options"])) == len(q["options"]), "duplicate options"
        assert isinstance(q["answer"], int) and not isinstance(q["answer"], bool)
        assert 0 <= q["answer"] < len(q["options"])
        assert isinstance(q["explanation"], str) and len(q["explanation"].split()) >= 8


def test_right_answers_are_spread_over_the_positions():
    answers = [q["answer"] for qs in DATA.values() for q in qs]
    assert max(answers.count(i) for i in set(answers)) < 0.5 * len(answers)


@pytest.mark.parametrize("nb", NOTEBOOKS)
def test_each_notebook_places_its_quiz_before_the_summary(nb):
    text = next((ROOT / "notebook_src").glob(f"{nb}_*.py")).read_text()
    assert "## Check your understanding" in text
    assert f'quiz.show("{nb}")' in text
    assert text.index("## Check your understanding") < text.index("## Summary")


@pytest.mark.parametrize("nb", NOTEBOOKS)
def test_text_fallback_holds_questions_and_options_not_answers(nb):
    for render in (quiz.as_text, quiz.as_markdown):
        text = render(nb)
        for q in DATA[nb]:
            assert q["question"] in text
            assert all(o in text for o in q["options"])
            assert q["explanation"] not in text
        assert "quizzes.json" in text and "JupyterLab" in text
    assert "**" not in quiz.as_text(nb)


def test_show_displays_widgets_with_text_and_markdown(monkeypatch):
    shown = []
    monkeypatch.setattr(quiz, "display", shown.append)
    assert quiz.show("03") is None
    (obj,) = shown
    assert isinstance(obj.widget, widgets.VBox)
    bundle = obj._repr_mimebundle_()
    assert bundle["text/plain"] == quiz.as_text("03")
    assert bundle["text/markdown"] == quiz.as_markdown("03")
    view = bundle["application/vnd.jupyter.widget-view+json"]
    assert view["model_id"] == obj.widget.model_id
    radios = [q.choice for q in obj.questions]
    assert len(radios) == len(DATA["03"])
    assert all(isinstance(r, widgets.RadioButtons) and r.value is None for r in radios)
    assert all(isinstance(q.button, widgets.Button) for q in obj.questions)


def _click(question, option):
    question.choice.value = option
    question.button.click()
    return question.feedback.value


@pytest.mark.parametrize("nb", NOTEBOOKS)
def test_clicks_give_the_right_feedback(nb):
    q_data = DATA[nb][0]
    question = quiz.Quiz(nb).questions[0]
    question.button.click()
    assert "Pick an option" in question.feedback.value
    wrong = next(i for i in range(len(q_data["options"])) if i != q_data["answer"])
    first = _click(question, wrong)
    assert first.startswith("❌") and "try another" in first
    assert quiz._html(q_data["explanation"]) not in first, "a first wrong try must not give the answer away"
    right = _click(question, q_data["answer"])
    assert right.startswith("✅") and quiz._html(q_data["explanation"]) in right


def test_two_wrong_tries_reveal_the_answer():
    q_data = DATA["03"][0]
    question = quiz.Quiz("03").questions[0]
    wrong = next(i for i in range(len(q_data["options"])) if i != q_data["answer"])
    _click(question, wrong)
    second = _click(question, wrong)
    assert second.startswith("❌") and quiz._html(q_data["explanation"]) in second
    assert quiz._html(q_data["options"][q_data["answer"]]) in second


def test_no_randomness_or_threads_in_the_module():
    source = Path(quiz.__file__).read_text()
    assert not re.search(r"^\s*import (random|threading)|^from (random|threading)", source, re.M)


def test_unknown_notebook_reads_as_a_friendly_note():
    assert "No questions found" in quiz.as_text("42")
