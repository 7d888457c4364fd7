"""Notebook 07's self-check rejects the plausible wrong answers, each with a hint that names the mistake."""
import pytest

from entropy_lab.checks import check_evening_size
from entropy_lab.checks.lesson07 import GRID, POLICIES, TARGET, _exact, answer, evening_trace
from entropy_lab.sizing import size_curves
from tests.notebook_runner import run_learner_copy_with_knob

MORNING_ANSWER = ("allkeys-lfu", "1800kb")  # what the notebook prints for the morning traffic


def test_the_worked_solution_passes():
    evening = size_curves(evening_trace(), GRID, POLICIES)
    assert check_evening_size(evening.recommend(TARGET)[:2])


def test_the_exercise_is_not_answered_in_the_notebook():
    index, size, winners = answer()
    assert (winners[0], size) != MORNING_ANSWER and winners == ["allkeys-lfu"]
    exact = _exact()
    assert exact["allkeys-lfu"][index] - TARGET > 0.01 and TARGET - exact["allkeys-lfu"][index - 1] > 0.01


@pytest.mark.parametrize("choice, words", [
    (MORNING_ANSWER, "do not need"),                     # the morning's answer, read off the printed table
    (("allkeys-lfu", GRID[-1]), "do not need"),          # the biggest size: always enough
    (("allkeys-lfu", GRID[0]), "no policy reaches"),     # one step too small
    (("allkeys-lru", "1200kb"), "does not reach it"),    # the right size, the wrong policy
    (("allkeys-random", "1200kb"), "does not reach it"),
    (("allkeys-lru", "1600kb"), "do not need"),          # where LRU first crosses: too much memory
    (("allkeys-lfu", 1200), "keys or bytes"),            # a number, not a maxmemory string
    (("allkeys-lfu", "1.2mb"), "not one of the sizes"),
    (("allkeys-lfu", "1200KB"), "not one of the sizes"),
    (("lfu", "1200kb"), "not one of the policies"),
    (("volatile-lfu", "1200kb"), "not one of the policies"),
    ("allkeys-lfu", "expected a pair"),
    (..., "not set yet"),
    (None, "not set yet"),
])
def test_wrong_answers_are_rejected_with_a_hint(choice, words):
    result = check_evening_size(choice)
    assert not result and words in str(result), str(result)


def test_learner_copy_runs_with_another_target_and_grid():
    run_learner_copy_with_knob("07_size_your_own_cache", 'SIZES = ["1200kb", "1400kb"',
                               'SIZES = ["1100kb", "1300kb"')
