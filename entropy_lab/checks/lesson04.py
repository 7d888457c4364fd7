"""Self-checks for notebook 04 (consistent hashing and sharding)."""
from __future__ import annotations

import numbers
import random
from collections import Counter

from ..sharding import MASK64, jump_hash, ring_busiest
from . import TooSlow, Verdict, time_limit, verdict



def _keys(n: int = 2000, seed: int = 2014) -> list[int]:
    rng = random.Random(seed)
    return [rng.getrandbits(64) for _ in range(n)]





FIXED_KEYS = 500
RANDOM_KEYS = 500
SMALL_BUCKETS = range(1, 65)
TIME_LIMIT = 20.0  # seconds for each of the check's two phases


def _wilson_hilferty(chi2: float, dof: int) -> float:
    """A chi-square statistic as a standard normal z (large z: far too uneven to be chance)."""
    return ((chi2 / dof) ** (1 / 3) - (1 - 2 / (9 * dof))) / (2 / (9 * dof)) ** 0.5


def _ref_variant(key: int, n: int, mistake: str) -> int:
    """The reference jump hash with one classic mistake (to name the learner's)."""
    b, j = -1, 0
    while j < n:
        b = j
        key = (key * 2862933555777941757 + 1) & MASK64
        j = (b + 1) * ((1 << 31) // ((key >> 33) + 1)) if mistake == "intdiv" else \
            int((b + 1) * (float(1 << 31) / float((key >> 33) + 1)))
    return j if mistake == "j" else b


_JUMP_FORMULA = ("b = j; key = (key * 2862933555777941757 + 1) & 0xFFFFFFFFFFFFFFFF; "
                 "j = int((b + 1) * (2**31 / ((key >> 33) + 1)))")


def check_jump_hash(fn) -> Verdict:
    """`fn(key, num_buckets)` must be jump consistent hash: the paper's buckets, even at every bucket
    count, and moving about 1/(N+1) of the keys, only to the new bucket, when N grows to N+1.

    Runs on 500 seeded keys plus 500 keys drawn at random inside the check, for every bucket
    count from 1 to 65 and a few large random ones (so a function tuned to one example fails).
    """
    rng = random.Random()  # drawn fresh on every call
    keys = _keys(FIXED_KEYS) + [rng.getrandbits(64) for _ in range(RANDOM_KEYS)]
    large = sorted(rng.sample(range(100, 1 << 20), 3))
    counts = [*SMALL_BUCKETS, 65]
    got, failed = _run(fn, keys, counts, TIME_LIMIT)
    if failed is not None:
        return failed
    if all(b is None for values in got.values() for b in values):
        return verdict(False, "your function returned None.", "finish it with `return b`.")
    ref = {n: [jump_hash(k, n) for k in keys] for n in counts}
    bad = [(n, b) for n, values in got.items() for b in values
           if isinstance(b, bool) or not isinstance(b, numbers.Integral) or not 0 <= b < n]
    if bad:
        n, b = bad[0]
        if all(g == r + 1 for n in counts for g, r in zip(got[n], ref[n])):
            return verdict(False, f"with {n} buckets it returned {b!r}: every bucket is one too high (off by one).",
                           "return b itself, not b + 1: buckets are numbered 0 to num_buckets - 1.")
        if all(got[n] == [_ref_variant(k, n, "j") for k in keys] for n in range(1, 17)):
            return verdict(False, f"with {n} buckets it returned {b!r}: that is j, the first jump past the end.",
                           "return b (the last jump below num_buckets), not j.")
        return verdict(False, f"with {n} buckets it returned {b!r}; a bucket must be an int from 0 to {n - 1}.",
                       "return b (the last jump below num_buckets), not j, and convert with int(...).")
    if all(len(set(got[n])) == 1 for n in counts if n > 1):
        return verdict(False, f"it puts every key in bucket {got[2][0]} (with 2 buckets, and with {counts[-1]:,}).",
                       "the key must drive the jumps: " + _JUMP_FORMULA + ", and check the shift is >> 33.")
    if all(got[n] == [k % n for k in keys] for n in counts):
        return verdict(False, "that is modulo hashing (key % num_buckets): it moves most keys when a bucket is added.",
                       "follow the jumps: " + _JUMP_FORMULA + ".")
    if all(got[n] == [_ref_variant(k, n, "intdiv") for k in keys] for n in range(1, 17)):
        return verdict(False, "it uses integer division (//) in the jump: j can only land on multiples of b + 1, "
                              "so some buckets get far more keys than others.",
                       "use a float division: j = int((b + 1) * (2**31 / ((key >> 33) + 1))).")
    for n in counts:
        if n + 1 not in got:
            continue
        strays = sum(a != b and b != n for a, b in zip(got[n], got[n + 1]))
        if strays:
            return verdict(False, f"going from {n} to {n + 1} buckets, {strays} of {len(keys):,} keys moved "
                                  f"between OLD buckets (a consistent hash moves keys only to the new bucket {n}).",
                           "this is what modulo-like hashes do; the jumps must not depend on num_buckets, only the "
                           "stopping point: loop while j < num_buckets and return the previous b (a wrong shift, "
                           "not >> 33, lets j jump backwards and has the same effect).")
    worst = max((n for n in SMALL_BUCKETS if n > 1),
                key=lambda n: _wilson_hilferty(_chi2(got[n], n), n - 1))
    if _wilson_hilferty(_chi2(got[worst], worst), worst - 1) > 5.5:
        loads = Counter(got[worst])
        bucket, count = loads.most_common(1)[0]
        return verdict(False, f"with {worst} buckets, bucket {bucket} got {count / len(keys):.0%} of the keys; "
                              f"its fair share is 1/{worst} = {1 / worst:.0%}. A hash must be even at every "
                              "bucket count, not only in one example.",
                       "follow the jump formula exactly (a wrong constant or shift makes it uneven): "
                       + _JUMP_FORMULA + ".")
    for n in SMALL_BUCKETS:
        p = 1 / (n + 1)
        moved = sum(a != b for a, b in zip(got[n], got[n + 1]))
        if abs(moved - p * len(keys)) > 6 * (len(keys) * p * (1 - p)) ** 0.5:
            return verdict(False, f"{n} -> {n + 1} buckets moved {moved / len(keys):.1%} of the keys; "
                                  f"a consistent hash moves about 1/{n + 1} = {p:.1%}.",
                           "every key must have the same chance to land on the new bucket: " + _JUMP_FORMULA + ".")
    big = sorted({*large, *(n + 1 for n in large)})
    got_big, failed = _run(fn, keys, big, TIME_LIMIT)
    if failed is not None:
        return verdict(False, f"with {large[0]:,} buckets or more, {failed.message[2:]}",
                       "jump hash needs only about ln(num_buckets) turns of its loop: " + _JUMP_FORMULA + ".")
    for n in big:
        wrong = [b for b in got_big[n] if isinstance(b, bool) or not isinstance(b, numbers.Integral)
                 or not 0 <= b < n]
        if wrong:
            return verdict(False, f"with {n:,} buckets it returned {wrong[0]!r}, outside 0..{n - 1:,}.",
                           "return b, the last jump below num_buckets.")
    for n in large:
        strays = sum(a != b and b != n for a, b in zip(got_big[n], got_big[n + 1]))
        if strays:
            return verdict(False, f"going from {n:,} to {n + 1:,} buckets, {strays} keys moved between OLD buckets.",
                           "the jumps must not depend on num_buckets, only where the loop stops.")
    got.update(got_big)
    counts = [*counts, *big]
    ref.update({n: [jump_hash(k, n) for k in keys] for n in big})
    pairs = len(keys) * len(counts)
    differ = sum(g != r for n in counts for g, r in zip(got[n], ref[n]))
    if differ > pairs // 1000:
        return verdict(False, f"it is even and consistent, but differs from the paper's jump hash on {differ:,} "
                              f"of {pairs:,} (key, bucket count) pairs: every client of a cache must compute "
                              "the same bucket, or they read and write different nodes.",
                       "compare your constants with the exercise's: 2862933555777941757, + 1, >> 33 and 2**31.")
    fixed = FIXED_KEYS  # report on the seeded keys only, so the message is the same on every run
    moved = sum(a != b for a, b in zip(got[10][:fixed], got[11][:fixed])) / fixed
    return verdict(True, f"your jump hash gives the paper's bucket on {pairs - differ:,} of {pairs:,} (key, bucket "
                         f"count) pairs, is even at every count from 2 to 64, and moves keys only to the new bucket "
                         f"(10 -> 11 moved {moved:.1%} of the {fixed} seeded keys, ideal {1 / 11:.1%}).")


def _run(fn, keys: list[int], counts: list[int], seconds: float):
    """fn on every key and bucket count: ({count: buckets}, None), or (None, a failing verdict)."""
    try:
        with time_limit(seconds):
            return {n: [fn(k, n) for k in keys] for n in counts}, None
    except TooSlow:
        return None, verdict(False, f"your function did not finish within {seconds:.0f} s: its loop probably "
                                    "never ends (or jumps backwards).",
                             "keep key to 64 bits after every step (key = (key * 2862933555777941757 + 1) "
                             "& 0xFFFFFFFFFFFFFFFF), and shift by 33: an ever-growing key makes j stay 0 forever.")
    except Exception as exc:  # the learner's code: report, do not crash
        return None, verdict(False, f"your function raised {type(exc).__name__}: {exc}",
                             "try it on one key first, e.g. jump(42, 10), and read the error.")


def _chi2(buckets: list[int], n: int) -> float:
    expected = len(buckets) / n
    counts = Counter(buckets)
    return sum((counts.get(b, 0) - expected) ** 2 for b in range(n)) / expected


RING_NODES = 20
BUSIEST_TARGET = 1.15
VNODES_MIN = 126  # the smallest k with ring_busiest(20, k) <= 1.15 (tests/test_checks_04.py recomputes it)
WASTEFUL = 2 * VNODES_MIN


def check_vnodes_for_balance(vnodes) -> Verdict:
    """`vnodes` per node must keep the busiest node of a 20-node ring at most 15% above the mean
    (`sharding.ring_busiest(20, vnodes) <= 1.15`), with no more than about twice the points needed."""
    if vnodes is ...:
        return verdict(False, "vnodes_choice is still `...`: you have not chosen a number yet.",
                       "measure sharding.ring_busiest(20, k) for a few k, then set vnodes_choice to your pick.")
    if isinstance(vnodes, float) and vnodes.is_integer():
        return verdict(False, f"{vnodes!r} is a float; a node has a whole number of points on the ring.",
                       f"write it as an int: vnodes_choice = {int(vnodes)}.")
    if isinstance(vnodes, bool) or not isinstance(vnodes, numbers.Integral) or vnodes < 1:
        return verdict(False, f"vnodes must be a whole number of at least 1, not {vnodes!r}.",
                       "measure sharding.ring_busiest(20, k) for k = 50, 100, 200, ... and pick from what you see.")
    vnodes = int(vnodes)
    if vnodes > WASTEFUL:
        return verdict(False, f"{vnodes:,} virtual nodes per node is {RING_NODES * vnodes:,} ring points in every "
                              "client; fewer than half as many already keep the busiest node within 15% of the "
                              "mean (wasteful: memory in every client and a longer search on every lookup).",
                       "measure sharding.ring_busiest(20, k) going up from small k and stop at the first k "
                       "that meets the target.")
    busiest = ring_busiest(RING_NODES, vnodes)
    if busiest > BUSIEST_TARGET:
        if vnodes == 100:
            why = " 100 is the ring the notebook used for other things, not a measured answer for 20 nodes."
        elif vnodes * 0.15 ** 2 <= 1.05 and vnodes * 0.15 ** 2 >= 0.9:
            why = (" That is the theory's answer (1/sqrt(k) = 15%), but 1/sqrt(k) is the TYPICAL deviation: "
                   "the busiest of 20 nodes sits about two deviations above the mean.")
        else:
            why = ""
        return verdict(False, f"with {vnodes} virtual node{'' if vnodes == 1 else 's'} the busiest of 20 nodes carries {busiest:.3f}x the "
                              f"mean load, above the {BUSIEST_TARGET:.2f}x target (too few points).{why}",
                       "the excess falls like 1/sqrt(k), but not smoothly: measure sharding.ring_busiest(20, k) "
                       "for larger k and pick the first that meets the target.")
    return verdict(True, f"{vnodes} virtual nodes: the busiest of 20 nodes carries {busiest:.3f}x the mean load "
                         f"(target {BUSIEST_TARGET:.2f}x), with {RING_NODES * vnodes:,} points per client. You "
                         "measured the busiest node, which the 1/sqrt(k) rule only estimates.")
