"""The self-checks of notebook 01 reject plausible wrong answers, each with a hint that names the
mistake, and accept the notebook's worked solutions."""
import functools
import random

import pytest

from entropy_lab import ttl
from entropy_lab.backends import FakeBackend
from entropy_lab.checks import check_jitter, check_ttl_choice, lesson01
from entropy_lab.namespaces import namespace


def _text(v):
    return f"{v.message} {v.hint or ''}".lower()


# ---- exercise (a): choose a TTL on a workload the notebook has not printed -------------------------

def test_worked_solution_passes_and_explains_the_band():
    # the notebook's solution: sweep, keep the feasible TTLs, take the middle one
    client = FakeBackend().client()
    ns = namespace(client, "t01c")
    feasible = ttl.feasible_ttls(ttl.ttl_sweep(client, ns, lesson01.exercise_stream(), range(5, 45, 5)))
    assert feasible == [20, 25]
    for answer in (*feasible, 19, 22.5, 27):
        v = check_ttl_choice(answer)
        assert v, (answer, v)
    assert "19 to 27" in check_ttl_choice(20).message
    assert check_ttl_choice(33) and "luck" in check_ttl_choice(33).message and "luck" not in check_ttl_choice(20).message
    np = pytest.importorskip("numpy")
    assert check_ttl_choice(np.int64(20)) and check_ttl_choice(np.float64(22.5))


def test_the_band_stated_by_the_check_is_measured():
    client = FakeBackend().client()
    ns = namespace(client, "t01c")
    ok = ttl.feasible_ttls(ttl.ttl_sweep(client, ns, lesson01.exercise_stream(), range(1, 61)))
    low, high = lesson01.EXERCISE_BAND
    assert ok[:high - low + 1] == list(range(low, high + 1)) and set(ok) - set(range(low, high + 1)) == {33}


WRONG_TTLS = [
    # (answer, a word the verdict must contain)
    (10, "first catalogue"),        # the notebook's printed operating point, and the old answer
    (15, "larger"),                 # the top of the notebook's band: too many misses here
    (8, "larger"),
    (2, "larger"),                  # too short
    (120, "smaller"),               # too long: stale reads
    (45, "smaller"),
    (20_000, "milliseconds"),       # a TTL in ms (1000x)
    (25_000.0, "milliseconds"),
    (-5, "positive"),               # negative
    (0, "positive"),
    ("20", "not a number"),         # a string
    ([20], "not a number"),
    (True, "not a number"),
    (None, "not set"),
    (..., "not set"),
    (float("inf"), "finite"),
    (float("nan"), "finite"),
]


@pytest.mark.parametrize("answer,word", WRONG_TTLS, ids=[repr(a) for a, _ in WRONG_TTLS])
def test_ttl_check_rejects_wrong_answers_with_a_hint(answer, word):
    v = check_ttl_choice(answer)
    assert not v and v.hint and word in _text(v), (answer, str(v))


def test_exercise_workload_is_not_the_notebooks():
    assert lesson01.EXERCISE_STREAM != dict(n_keys=100, seconds=300, read_rate=100, change_every=1000, seed=1)
    assert lesson01.NOTEBOOK_OPERATING_POINT not in range(lesson01.EXERCISE_BAND[0], lesson01.EXERCISE_BAND[1] + 1)


# ---- exercise (b): jitter ------------------------------------------------------------------------

def solution(base, rng):
    return base * rng.uniform(0.8, 1.2)


def test_jitter_solutions_pass():
    assert check_jitter(solution)
    assert check_jitter(ttl.jittered_ttl)
    assert check_jitter(lambda base, rng: base * (0.75 + 0.5 * rng.random()))
    assert check_jitter(lambda base, rng: base * rng.uniform(0.7, 1.1))  # mostly shorter, mildly: fine
    assert check_jitter(lambda base, rng: round(base * rng.uniform(0.8, 1.2), 1))  # tenths of a second: fine
    np = pytest.importorskip("numpy")
    assert check_jitter(lambda base, rng: np.float32(base * rng.uniform(0.8, 1.2)))  # a numpy number: fine


def _while_true(base, rng):
    while True:
        pass


WRONG_JITTERS = [
    (lambda base, rng: rng.uniform(12, 18), "ignores base"),                 # tuned to the notebook's 15 s
    (lambda base, rng: 15 * rng.uniform(0.8, 1.2), "ignores base"),
    (lambda base, rng: base, "no jitter"),                                   # returns base
    (lambda base, rng: 15, "no jitter"),                                     # an int constant
    (lambda base, rng: base * random.uniform(0.8, 1.2), "random module"),    # the global random module
    (lambda base, rng: base * random.Random().uniform(0.8, 1.2), "rng you are given"),
    (lambda base, rng: base + rng.random(), "fixed amount"),                 # jitter too small and not scaled
    (lambda base, rng: base * rng.uniform(0.99, 1.01), "too small"),
    (functools.partial(ttl.jittered_ttl, spread=0.01), "too small"),
    (lambda base, rng: base * rng.uniform(0.1, 1.9), "too wild"),            # too wild
    (lambda base, rng: base * rng.uniform(0.45, 1.55), "too wild"),
    (lambda base, rng: base + rng.uniform(-5, 5), "negative"),               # negative TTLs at base 4
    (lambda base, rng: -base * rng.uniform(0.8, 1.2), "negative"),
    (lambda base, rng: base * rng.uniform(0.3, 1.0), "shorter"),             # one-sided, shortens hugely
    (lambda base, rng: base * rng.uniform(0.55, 1.0), "shorter"),
    (lambda base, rng: base * rng.uniform(1.0, 1.45), "longer"),             # one-sided, lengthens
    (lambda base, rng: int(base * rng.uniform(0.8, 1.2)), "whole seconds"),  # rounds away the jitter
    (lambda base, rng: base * rng.uniform(0.95, 1.05), "not yet half"),      # ±5%: too narrow for the peak
    (lambda base, rng: 1000 * base * rng.uniform(0.8, 1.2), "milliseconds"),  # a TTL in ms
    (lambda base, rng: base * (1 + rng.random()), "longer"),
    (lambda base, rng: random.Random(7).uniform(0.8, 1.2) * base, "no jitter"),  # a fresh seeded Random each call
    (lambda base, rng: None, "none"),
    (lambda base, rng: str(base), "not a number"),
    (lambda base, rng: float("nan"), "not a number"),
    (lambda base, rng: 1 / 0, "zerodivisionerror"),
    (lambda base: base, "typeerror"),                                        # wrong signature
    (_while_true, "10 s"),                                                   # never returns
    (42, "not a function"),
]


@pytest.mark.parametrize("fn,word", WRONG_JITTERS, ids=[w for _, w in WRONG_JITTERS])
def test_jitter_check_rejects_wrong_answers_with_a_hint(fn, word):
    v = check_jitter(fn)
    assert not v and v.hint and word in _text(v), str(v)


def test_jitter_pass_message_is_stable():
    # stored notebook outputs compare it: nothing drawn at random may show in a pass
    assert str(check_jitter(solution)) == str(check_jitter(solution))


# ---- a learner who changes the notebook's knobs gets no traceback ---------------------------------

KNOBS = [
    ("TTLS = [1, 2, 5, 10, 15, 20, 30, 60, 120]", "TTLS = [3, 7, 45]"),             # the swept TTLs
    ("change_every=1000, seed=1)", "change_every=300, seed=7)"),                     # seed and change rate
    ("seconds=45, ttl=15, recompute=0.2)", "seconds=30, ttl=8, recompute=0.05)"),    # the stampede's TTL
]


@pytest.mark.parametrize("old,new", KNOBS, ids=["ttls", "seed", "stampede-ttl"])
def test_learner_copy_runs_with_a_changed_knob(old, new):
    from tests.notebook_runner import run_learner_copy_with_knob

    run_learner_copy_with_knob("01_time_to_live", old, new)
