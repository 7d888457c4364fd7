"""Notebook 04's self-checks reject plausible wrong answers, each with a hint that names the mistake,
and accept the notebook's worked solutions."""
import hashlib
import random

import pytest

from entropy_lab import sharding
from entropy_lab.checks import check_jump_hash, check_vnodes_for_balance
from entropy_lab.checks import lesson04
from entropy_lab.sharding import MASK64, jump_hash
from tests.notebook_runner import solution_function

M = 2862933555777941757


solution = solution_function("04_shard_without_reshuffling", "jump")


def _jump(key, n, *, mask=True, intdiv=False, ret="b", shift=33, mult=M, paren=True, num=2**31, plus=1,
          misplaced=False):
    b, j = -1, 0
    while j < n:
        b = j
        key = key * mult + plus
        if mask:
            key &= MASK64
        if misplaced:  # int((b + 1) * (2**31 / (key >> 33) + 1))
            j = int((b + 1) * (2**31 / (key >> shift) + 1)) if key >> shift else n
        elif num != 2**31:
            j = int((b + 1) * (num / ((key >> shift) + 1)))
        elif intdiv:
            j = (b + 1) * (2**31 // ((key >> shift) + 1))
        elif paren:
            j = int((b + 1) * (2**31 / ((key >> shift) + 1)))
        else:
            j = int((b + 1) * 2**31 / ((key >> shift) + 1))
    return {"b": b, "j": j, "b+1": b + 1}[ret]


def _rendezvous_unbalanced(key, n):
    # highest score wins (so it is consistent), but the score favours low bucket numbers
    def score(b):
        mixed = ((key ^ (b * 0x9E3779B97F4A7C15)) * M + 1) & MASK64
        return (mixed ^ (mixed >> 29)) // (b + 1)
    return max(range(n), key=score)


def _stable_mod(key, n):
    return int.from_bytes(hashlib.blake2b(str(key).encode(), digest_size=8).digest(), "big") % n


def _random_jump(key, n):
    rng = random.Random(key)  # a consistent jump hash, but not the paper's: other clients disagree
    b, j = -1, 0
    while j < n:
        b = j
        j = int((b + 1) / (1 - rng.random()))
    return b


WRONG_JUMPS = {
    "tuned to 10 -> 11": (lambda k, n: 10 if n >= 11 and k % 11 == 10 else 0, "bucket count"),
    "min(k % 11, n - 1)": (lambda k, n: min(k % 11, n - 1), "fair share"),
    "modulo": (lambda k, n: k % n, "modulo"),
    "hash(str(k)) % n": (lambda k, n: hash(str(k)) % n, "OLD buckets"),
    "blake2b % n": (_stable_mod, "OLD buckets"),
    "integer division": (lambda k, n: _jump(k, n, intdiv=True), "integer division"),
    "returns j": (lambda k, n: _jump(k, n, ret="j"), "return b"),
    "off by one": (lambda k, n: _jump(k, n, ret="b+1"), "off by one"),
    "constant 0": (lambda k, n: 0, "every key"),
    "returns n": (lambda k, n: n, "bucket must be"),
    "returns None": (lambda k, n: None, "None"),
    "returns a float": (lambda k, n: float(jump_hash(k, n)), "bucket must be"),
    "shift 32": (lambda k, n: _jump(k, n, shift=32), ">> 33"),
    "wrong multiplier": (lambda k, n: _jump(k, n, mult=M + 2), "constants"),
    "rendezvous, unbalanced": (_rendezvous_unbalanced, "fair share"),
    "raises": (lambda k, n: 1 / 0, "ZeroDivisionError"),
    "2**32 instead of 2**31": (lambda k, n: _jump(k, n, num=2**32), "fair share"),
    "misplaced parenthesis": (lambda k, n: _jump(k, n, misplaced=True), "fair share"),
    "forgot the + 1 of the generator": (lambda k, n: _jump(k, n, plus=0), "constants"),
    "Python's random as the generator": (_random_jump, "differs from the paper"),
}



@pytest.mark.parametrize("name", list(WRONG_JUMPS))
def test_check_jump_hash_rejects(name):
    fn, word = WRONG_JUMPS[name]
    result = check_jump_hash(fn)
    assert not result, name
    assert word.lower() in str(result).lower(), str(result)


def test_check_jump_hash_stops_a_loop_that_never_ends(monkeypatch):
    monkeypatch.setattr(lesson04, "TIME_LIMIT", 2.0)
    result = check_jump_hash(lambda k, n: _jump(k, n, mask=False))
    assert not result and "64 bits" in result.hint


@pytest.mark.parametrize("fn", [solution, jump_hash, lambda k, n: _jump(k, n, paren=False)],
                         ids=["notebook solution", "library", "no inner parentheses"])
def test_check_jump_hash_accepts_the_papers_function(fn):
    result = check_jump_hash(fn)
    assert result, str(result)
    assert "paper's bucket" in str(result)


WRONG_VNODES = {
    "the notebook's ring, 100": (100, "notebook"),
    "one point per node": (1, "too few"),
    "the theory's 1/sqrt(k) = 15%": (45, "theory"),
    "the old 5% CV answer, 400": (400, "wasteful"),
    "the notebook's printed 350": (350, "wasteful"),
    "huge": (10**6, "wasteful"),
    "a float": (150.0, "float"),
    "a string": ("150", "whole number"),
    "not answered": (..., "not chosen"),
    "zero": (0, "whole number"),
    "negative": (-5, "whole number"),
    "True": (True, "whole number"),
    "just below the target": (125, "too few"),
    "just over twice the need": (lesson04.WASTEFUL + 1, "wasteful"),
}


@pytest.mark.parametrize("name", list(WRONG_VNODES))
def test_check_vnodes_rejects(name):
    value, word = WRONG_VNODES[name]
    result = check_vnodes_for_balance(value)
    assert not result, name
    assert word.lower() in str(result).lower(), str(result)


def test_check_vnodes_accepts_the_notebook_solution_and_the_smallest_count():
    vnodes_choice = next(k for k in range(10, 1001, 10) if sharding.ring_busiest(20, k) <= 1.15)  # the solution cell
    assert check_vnodes_for_balance(vnodes_choice)
    assert check_vnodes_for_balance(lesson04.VNODES_MIN)
    assert check_vnodes_for_balance(lesson04.WASTEFUL) or sharding.ring_busiest(20, lesson04.WASTEFUL) > 1.15


def test_vnodes_min_is_the_smallest_count_that_meets_the_target():
    first = next(k for k in range(1, 1000) if sharding.ring_busiest(lesson04.RING_NODES, k) <= lesson04.BUSIEST_TARGET)
    assert first == lesson04.VNODES_MIN


# --------------------------------------------------------------------------- a learner's changed knobs
KNOBS = {
    "another key seed": ("sample_keys(20_000, seed=4)", "sample_keys(20_000, seed=9)"),
    "five nodes": ("nodes = sharding.node_names(3)", "nodes = sharding.node_names(5)"),
    "few virtual nodes": ("HashRing(nodes, vnodes=100)", "HashRing(nodes, vnodes=7)"),
    "four masters": ("start_cluster(masters=3)", "start_cluster(masters=4)"),
    "another tenant seed": ("random.Random(42)", "random.Random(7)"),
    "a wrong vnodes answer": ("vnodes_choice = ...", "vnodes_choice = 100"),
}


@pytest.mark.parametrize("name", list(KNOBS))
def test_notebook_04_survives_a_changed_knob(name):
    from tests.notebook_runner import run_learner_copy_with_knob
    old, new = KNOBS[name]
    run_learner_copy_with_knob("04_shard_without_reshuffling", old, new)
