"""The one home of the lab's number checks: what passes, what is refused, and the sentence a learner reads."""
import math

import numpy as np
import pytest

from entropy_lab.arguments import is_number, is_whole, number, whole_number
from entropy_lab.errors import LabError
from entropy_lab.ttl import TTLInputError


@pytest.mark.parametrize("value", [0, -3, 2.5, np.int64(7), np.float32(0.25), 10**30])
def test_finite_ints_and_floats_are_numbers(value):
    assert is_number(value)


@pytest.mark.parametrize("value", [True, False, None, "3", math.nan, math.inf, -math.inf, [1], 1j, 10**400])
def test_bools_text_nan_and_infinities_are_not(value):
    assert not is_number(value) and not is_whole(value)


@pytest.mark.parametrize("value, whole", [(3, True), (3.0, True), (np.int32(3), True), (10**30, True),
                                          (2.5, False), (np.float64(0.1), False)])
def test_whole_means_nothing_after_the_point(value, whole):
    assert is_whole(value) is whole


def test_a_good_value_comes_back_and_whole_numbers_as_ints():
    assert number("rate", 0.5, low=0, high=1) == 0.5
    assert number("n", 4.0, whole=True) == 4 and isinstance(number("n", 4.0, whole=True), int)
    assert whole_number("n", np.int64(5), 1) == 5 and type(whole_number("n", np.int64(5), 1)) is int
    assert number("edge", 1, low=1, high=1) == 1


@pytest.mark.parametrize("call, sentence", [
    (lambda: number("n_keys", 2.5, low=1, whole=True), "n_keys must be a whole number of at least 1, not 2.5."),
    (lambda: number("n_keys", 0, low=1, whole=True), "n_keys must be at least 1, not 0."),
    (lambda: number("rate", "fast", above=0), "rate must be a number more than 0, not 'fast'."),
    (lambda: number("rate", 0, above=0), "rate must be more than 0, not 0."),
    (lambda: number("share", 1.5, low=0, high=1), "share must be at least 0 and at most 1, not 1.5."),
    (lambda: number("ttl", -1, above=0, unit="seconds"), "ttl must be more than 0 seconds, not -1."),
    (lambda: number("ttl", None, above=0, unit="seconds"), "ttl must be a number of seconds more than 0, not None."),
    (lambda: number("window", math.nan), "window must be a number, not nan."),
    (lambda: whole_number("The number of masters", 20_000, 1, 16_384),
     "The number of masters must be at least 1 and at most 16,384, not 20,000."),
    (lambda: whole_number("n", np.int64(-2), 0), "n must be at least 0, not -2."),
])
def test_a_bad_value_gets_one_sentence_that_says_what_to_pass(call, sentence):
    with pytest.raises(LabError) as raised:
        call()
    assert str(raised.value) == sentence


def test_a_lesson_can_raise_its_own_error_class():
    with pytest.raises(TTLInputError):
        number("ttl", -1, above=0, error=TTLInputError)
    with pytest.raises(ValueError):  # TTLInputError is also a ValueError, for code written before the lab
        whole_number("n", "many", error=TTLInputError)


def test_an_int_too_big_for_a_float_is_a_verdict_not_an_overflow():
    """10**400 made math.isfinite raise OverflowError inside helpers and self-checks."""
    from entropy_lab import monitoring as mon
    from entropy_lab.checks import check_interval_hit_ratio, check_jitter, check_stale_key_share

    with pytest.raises(LabError):
        mon.hit_ratio(10**400, 1)
    for check, answer in ((check_interval_hit_ratio, lambda before, after: 10**400),
                          (check_jitter, lambda base, rng: 10**400),
                          (check_stale_key_share, lambda r, ns, truth: 10**400)):
        assert not check(answer)
