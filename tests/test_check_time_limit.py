"""The checks' time limit stops a learner's endless loop, even where Python swallows the alarm."""
from __future__ import annotations

import time

import pytest

from entropy_lab.checks import TooSlow, time_limit


class SleepyFinalizer:
    """Its __del__ is running when the first alarm comes: Python swallows an exception raised in a
    finalizer ("Exception ignored in ..."), as it does in redis-py's Pipeline.__del__."""

    def __del__(self):
        time.sleep(0.3)


def loop_after_a_finalizer(seconds: float = 3.0) -> None:
    """An endless loop (bounded, so that a broken time limit fails the test instead of hanging it)
    whose first alarm lands in a finalizer."""
    obj = SleepyFinalizer()
    del obj
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        pass


@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")  # the swallowed alarm, on purpose
def test_an_endless_loop_is_stopped_even_when_the_first_alarm_is_swallowed():
    started = time.monotonic()
    with pytest.raises(TooSlow):
        with time_limit(0.05):
            loop_after_a_finalizer()
    assert time.monotonic() - started < 1.5


def test_code_that_finishes_in_time_is_left_alone_and_no_alarm_follows():
    with time_limit(1.0):
        total = sum(range(1000))
    time.sleep(0.3)  # a repeating timer left armed would raise here
    assert total == 499500
