"""Self-checks for notebook 04 (consistent hashing and sharding)."""
from __future__ import annotations

import contextlib
import random
import signal
import threading

from ..sharding import MASK64, jump_hash, ring_balance
from . import Verdict, verdict

BUCKETS = (1, 2, 3, 4, 7, 10, 11, 50)
MAX_SHARE = 0.05


def _keys(n: int = 2000, seed: int = 2014) -> list[int]:
    rng = random.Random(seed)
    return [rng.getrandbits(64) for _ in range(n)]


class _TooSlow(Exception):
    pass


@contextlib.contextmanager
def _time_limit(seconds: float):
    """Interrupt the learner's code after `seconds` (main thread on Unix; no limit elsewhere)."""
    usable = hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()
    if not usable:
        yield
        return

    def alarm(signum, frame):
        raise _TooSlow()

    previous = signal.signal(signal.SIGALRM, alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def check_jump_hash(fn) -> Verdict:
    """`fn(key, num_buckets)` must be a consistent hash: in range, moving ~1/(N+1) of keys, only to the new bucket."""
    keys = _keys()
    try:
        with _time_limit(10):
            got = {n: [fn(k, n) for k in keys] for n in BUCKETS}
    except _TooSlow:
        return verdict(False, "your function did not finish within 10 s: its loop probably never ends.",
                       "keep key to 64 bits after every step (key = (key * 2862933555777941757 + 1) "
                       "& 0xFFFFFFFFFFFFFFFF); an ever-growing key makes j stay 0 forever.")
    except Exception as exc:  # the learner's code: report, do not crash
        return verdict(False, f"your function raised {type(exc).__name__}: {exc}",
                       "try it on one key first, e.g. jump(42, 10), and read the error.")
    if all(b is None for values in got.values() for b in values):
        return verdict(False, "your function returned None.", "finish it with `return b`.")
    bad = [(n, b) for n, values in got.items() for b in values
           if isinstance(b, bool) or not isinstance(b, int) or not 0 <= b < n]
    if bad:
        n, b = bad[0]
        return verdict(False, f"with {n} buckets it returned {b!r}; a bucket must be an int from 0 to {n - 1}.",
                       "return b (the last jump below num_buckets), not j, and convert with int(...).")
    if all(got[n] == [k % n for k in keys] for n in BUCKETS):
        return verdict(False, "that is modulo hashing (key % num_buckets): it moves most keys when a bucket is added.",
                       "follow the jumps: b = j; key = key * 2862933555777941757 + 1 (mod 2**64); "
                       "j = int((b + 1) * 2**31 / ((key >> 33) + 1)).")
    strays = sum(a != b and b != 10 for a, b in zip(got[10], got[11]))
    moved = sum(a != b for a, b in zip(got[10], got[11])) / len(keys)
    if strays:
        return verdict(False, f"going from 10 to 11 buckets, {strays} keys moved between OLD buckets.",
                       "a consistent hash may only move keys to the new bucket 10; check that the loop "
                       "stops when j >= num_buckets and returns the previous b.")
    if not 0.07 < moved < 0.115:
        return verdict(False, f"10 -> 11 buckets moved {moved:.1%} of keys; the ideal is 1/11 = {1 / 11:.1%}.",
                       "the jump formula needs floats: (b + 1) * (2**31 / ((key >> 33) + 1)), "
                       "with key kept to 64 bits (& 0xFFFFFFFFFFFFFFFF).")
    same = all(got[n] == [jump_hash(k & MASK64, n) for k in keys] for n in BUCKETS)
    tail = " and gives exactly the paper's buckets" if same else " (its buckets differ from the paper's, which is fine)"
    return verdict(True, f"10 -> 11 buckets moved {moved:.1%} of 2,000 keys (ideal {1 / 11:.1%}), "
                         f"all to the new bucket{tail}.")


def check_vnodes_for_balance(vnodes) -> Verdict:
    """`vnodes` per node must keep a 10-node ring's load spread (coefficient of variation) under 5%."""
    if isinstance(vnodes, bool) or not isinstance(vnodes, int) or vnodes < 1:
        return verdict(False, f"vnodes must be a whole number of at least 1, not {vnodes!r}.",
                       "set vnodes = 100, say, and run the check again.")
    if vnodes > 20_000:
        return verdict(False, f"{vnodes:,} virtual nodes per node is {10 * vnodes:,} ring points for 10 nodes.",
                       "theory says about 1/sqrt(k): find the smallest k with 1/sqrt(k) < 0.05, then measure.")
    spread = ring_balance(10, vnodes)
    if spread >= MAX_SHARE:
        return verdict(False, f"with {vnodes} virtual nodes the load spread is {spread:.1%}, not under 5%.",
                       f"the spread falls like 1/sqrt(k): to divide it by {spread / MAX_SHARE:.1f} you need about "
                       f"{(spread / MAX_SHARE) ** 2:.1f} times as many virtual nodes.")
    note = "" if vnodes <= 2000 else " It works, but costs far more memory than needed: try fewer."
    return verdict(True, f"{vnodes} virtual nodes: load spread {spread:.1%} (under 5%), "
                         f"{10 * vnodes:,} points on the ring.{note}")
