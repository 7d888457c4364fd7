"""Notebook 00's self-check: the worked solution passes, plausible wrong answers are rejected by name."""
import itertools
from fractions import Fraction

import numpy as np
import pytest

from entropy_lab.checks import check_stale_key_share
from entropy_lab.checks.lesson00 import random_cache
from entropy_lab.truth import decode
from tests.notebook_runner import run_learner_copy_with_knob, solution_function


solution = solution_function("00_watch_a_cache_decay", "stale_key_share", {"decode": decode})


def _walk(r, ns, truth, keys=None):
    """(name, version, value) of every decodable copy under `keys` (default: this namespace)."""
    for full_key in (ns.scan() if keys is None else keys):
        version, value = decode(r.get(full_key))
        yield ns.name(full_key), version, value


def _counts(r, ns, truth):
    rows = list(_walk(r, ns, truth))
    stale = sum(truth.stale_since(name, v) is not None for name, v, _ in rows)
    return stale, len(rows)


def stale_bytes(r, ns, truth):
    rows = list(_walk(r, ns, truth))
    total = sum(len(value) for _, _, value in rows)
    return sum(len(value) for name, v, value in rows if truth.stale_since(name, v) is not None) / total if total else 0.0


def stale_raw_bytes(r, ns, truth):
    keys = list(ns.scan())
    total = sum(r.strlen(k) for k in keys)
    stale = sum(r.strlen(k) for k in keys if truth.stale_since(ns.name(k), decode(r.get(k))[0]) is not None)
    return stale / total if total else 0.0


def every_key_on_the_server(r, ns, truth):
    rows = list(_walk(r, ns, truth, keys=list(r.scan_iter())))
    return sum(truth.stale_since(n, v) is not None for n, v, _ in rows) / len(rows) if rows else 0.0


def walks_the_truth(r, ns, truth):
    stale = total = 0
    for name in truth.keys():
        raw = r.get(ns.key(name))
        total += 1
        if raw is not None:
            stale += truth.stale_since(name, decode(raw)[0]) is not None
    return stale / total if total else 0.0


def walks_the_truth_and_decodes(r, ns, truth):
    return sum(truth.stale_since(n, decode(r.get(ns.key(n)))[0]) is not None for n in truth.keys()) / len(truth)


def raises_on_empty(r, ns, truth):
    stale, total = _counts(r, ns, truth)
    return stale / total


def plus_one(r, ns, truth):
    stale, total = _counts(r, ns, truth)
    return stale / (stale + 1)


def total_plus_one(r, ns, truth):
    stale = 0
    total = 1
    for name, v, _ in _walk(r, ns, truth):
        total += 1
        stale += truth.stale_since(name, v) is not None
    return stale / total


def count_only(r, ns, truth):
    return _counts(r, ns, truth)[0]


def percent(r, ns, truth):
    stale, total = _counts(r, ns, truth)
    return 100 * stale / total if total else 0.0


def fresh_share(r, ns, truth):
    stale, total = _counts(r, ns, truth)
    return (total - stale) / total if total else 0.0


def stale_per_fresh(r, ns, truth):
    stale, total = _counts(r, ns, truth)
    return stale / (total - stale) if total > stale else 0.0


def truthiness(r, ns, truth):
    rows = list(_walk(r, ns, truth))
    return sum(bool(truth.stale_since(n, v)) for n, v, _ in rows) / len(rows) if rows else 0.0


def lists_with_keys(r, ns, truth):
    keys = r.keys(ns.pattern())
    stale = sum(truth.stale_since(ns.name(k), decode(r.get(k))[0]) is not None for k in keys)
    return stale / len(keys) if keys else 0.0


def forgets_the_prefix(r, ns, truth):
    keys = list(ns.scan())
    return sum(truth.stale_since(k, decode(r.get(k))[0]) is not None for k in keys) / len(keys) if keys else 0.0


def rounded(r, ns, truth):
    return round(solution(r, ns, truth), 2)


def forever(r, ns, truth):
    while True:
        pass


def as_text(r, ns, truth):
    return f"{solution(r, ns, truth):.0%}"


WRONG = {
    "constant 0.5": (lambda r, ns, truth: 0.5, "does not follow the cache"),
    "constant 0.4": (lambda r, ns, truth: 0.4, "stale"),
    "None": (lambda r, ns, truth: None, "returned None"),
    "share of stale bytes": (stale_bytes, "BYTES"),
    "share of stale bytes, raw STRLEN": (stale_raw_bytes, "BYTES"),
    "counts another application's keys": (every_key_on_the_server, "not this cache's"),
    "counts uncached records": (walks_the_truth, "no copy in the cache"),
    "decodes uncached records": (walks_the_truth_and_decodes, "not in the cache"),
    "raises on an empty cache": (raises_on_empty, "empty cache"),
    "stale / (stale + 1)": (plus_one, "off by one"),
    "total counted from 1": (total_plus_one, "off by one"),
    "a count, not a share": (count_only, "COUNT"),
    "a percentage": (percent, "percentage"),
    "share of fresh keys": (fresh_share, "FRESH"),
    "stale per fresh key": (stale_per_fresh, "FRESH"),
    "stale_since 0.0 taken as fresh": (truthiness, "falsy"),
    "KEYS instead of SCAN": (lists_with_keys, "KEYS"),
    "full key looked up in the truth": (forgets_the_prefix, "ns.name"),
    "rounded to two decimals": (rounded, "rounded"),
    "an endless loop": (forever, "never ends"),
    "a string": (as_text, "must return a number"),
}


def test_the_worked_solution_passes_on_many_seeds():
    for seed in range(30):
        verdict = check_stale_key_share(solution, seed=seed)
        assert verdict.passed, (seed, str(verdict))
    assert "random" in str(verdict) and "empty" in str(verdict)


def test_a_seed_is_drawn_inside_the_check():
    assert check_stale_key_share(solution)
    assert check_stale_key_share(solution)


@pytest.mark.parametrize("name", list(WRONG))
def test_a_wrong_answer_is_rejected_with_a_hint_that_names_it(name):
    fn, word = WRONG[name]
    for seed in (1, 2, 3) if name != "an endless loop" else (1,):
        verdict = check_stale_key_share(fn, seed=seed)
        assert not verdict.passed, (name, seed)
        assert word in str(verdict), (name, seed, str(verdict))
        assert "Hint:" in str(verdict)


def test_an_answer_tuned_to_the_example_fails_on_every_seed():
    assert not any(check_stale_key_share(lambda r, ns, truth: 0.5, seed=s) for s in range(20))


def test_random_caches_differ_between_seeds():
    answers = {round(random_cache(seed).answer, 6) for seed in range(20)}
    assert len(answers) > 5 and 0.5 not in answers


def test_exact_answers_of_other_number_types_pass():
    def as_fraction(r, ns, truth):
        keys = list(ns.scan())
        stale = sum(truth.stale_since(ns.name(k), decode(r.get(k))[0]) is not None for k in keys)
        return Fraction(stale, len(keys)) if keys else Fraction(0)

    assert check_stale_key_share(as_fraction, seed=4)
    assert check_stale_key_share(lambda r, ns, truth: np.float64(solution(r, ns, truth)), seed=4)


def test_not_a_function():
    verdict = check_stale_key_share(0.5)
    assert not verdict and "function" in str(verdict)


def test_every_wrong_answer_has_its_own_hint():
    """No two mistakes above share a verdict: each message names its own mistake."""
    messages = {name: str(check_stale_key_share(fn, seed=5)) for name, (fn, _) in WRONG.items()
                if name != "an endless loop"}
    for (a, x), (b, y) in itertools.combinations(messages.items(), 2):
        if {a, b} <= {"share of stale bytes", "share of stale bytes, raw STRLEN"} or \
           {a, b} <= {"stale / (stale + 1)", "total counted from 1"}:
            continue
        assert x != y, (a, b)


# ---------------------------------------------------------------- a learner changes the notebook's knobs

@pytest.mark.parametrize("old, new", [
    ("seed=7", "seed=3"),
    ("n_keys=200, seconds=60, rate=100, write_share=0.1", "n_keys=20, seconds=60, rate=100, write_share=0.0"),
    ("window=5", "window=60"),
], ids=["another seed", "few keys, no writes", "one window"])
def test_the_learner_copy_runs_with_a_changed_knob(old, new):
    run_learner_copy_with_knob("00_watch_a_cache_decay", old, new)
