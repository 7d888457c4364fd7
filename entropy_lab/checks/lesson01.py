"""Self-checks for notebook 01 (time-to-live, the first line of defence).

The checks run their simulations on a private embedded twin: they never touch the learner's
server and never switch the lab's clock (a live notebook keeps its real clock).
"""
from __future__ import annotations

import math
import random
from functools import lru_cache

from .. import ttl
from ..namespaces import namespace
from ..twin import TwinServer, fake_client
from . import Verdict, verdict

# Exercise (a): the catalogue of the notebook, but prices change twice as often.
EXERCISE_STREAM = dict(n_keys=100, seconds=300, read_rate=100, change_every=500, seed=2)
MAX_STALE, MIN_HIT = 0.01, 0.90
# Exercise (b): the peak must come down to at most this share of the undefended peak.
PEAK_SHARE = 0.5
JITTER_BASE = 15.0


def _private_client():
    return fake_client(TwinServer())


@lru_cache(maxsize=1)
def exercise_stream():
    """The workload of exercise (a): same reads as the notebook, prices change every ~500 s."""
    return ttl.catalogue_stream(**EXERCISE_STREAM)


def ttl_choice_result(ttl_seconds: float) -> ttl.TTLResult:
    client = _private_client()
    return ttl.run_ttl(client, namespace(client, "check01"), exercise_stream(), ttl_seconds)


def check_ttl_choice(ttl_seconds) -> Verdict:
    """Exercise (a): `ttl_seconds` keeps stale reads under 1% and the hit ratio above 90%."""
    if ttl_seconds is None or ttl_seconds is ...:
        return verdict(False, "my_ttl is not set yet.", "assign a number of seconds, e.g. my_ttl = 7.")
    if isinstance(ttl_seconds, bool) or not isinstance(ttl_seconds, (int, float)) or not math.isfinite(ttl_seconds):
        return verdict(False, f"{ttl_seconds!r} is not a number of seconds.", "use a plain number such as 7 or 7.5.")
    if ttl_seconds <= 0:
        return verdict(False, f"a TTL of {ttl_seconds} s would expire every copy at once.",
                       "a TTL is a positive number of seconds.")
    res = ttl_choice_result(float(ttl_seconds))
    found = f"TTL {ttl_seconds:g} s: stale reads {res.stale_fraction:.2%}, hit ratio {res.hit_ratio:.1%}"
    stale_ok, hit_ok = res.stale_fraction < MAX_STALE, res.hit_ratio > MIN_HIT
    if stale_ok and hit_ok:
        return verdict(True, f"{found}: both targets met.")
    if not stale_ok and not hit_ok:
        return verdict(False, f"{found}: both targets missed.", "sweep a range of TTLs on exercise_stream and plot both.")
    if not stale_ok:
        return verdict(False, f"{found}: too many stale reads.",
                       "a shorter TTL bounds how long a changed price can be served; try a smaller one.")
    return verdict(False, f"{found}: too many misses.",
                   "a longer TTL keeps copies long enough to be reused; try a larger one.")


@lru_cache(maxsize=1)
def undefended_peak() -> int:
    client = _private_client()
    return ttl.run_stampede(client, namespace(client, "check01")).peak


def check_jitter(fn) -> Verdict:
    """Exercise (b): `fn(base, rng)` returns jittered TTLs that halve the stampede's peak load."""
    try:
        values = [fn(JITTER_BASE, random.Random(7)) for _ in range(3)]
        rng = random.Random(7)
        sample = [fn(JITTER_BASE, rng) for _ in range(500)]
        rng = random.Random(7)
        again = [fn(JITTER_BASE, rng) for _ in range(500)]
    except Exception as exc:  # the learner's code: report, do not crash
        return verdict(False, f"your function raised {type(exc).__name__}: {exc}",
                       "call it once yourself, e.g. jittered(15, random.Random(0)), and read the error.")
    if any(v is None for v in sample):
        return verdict(False, "your function returned None.", "finish it with `return <a number of seconds>`.")
    if not all(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) for v in sample):
        bad = next(v for v in sample if not isinstance(v, (int, float)) or isinstance(v, bool) or not math.isfinite(v))
        return verdict(False, f"your function returned {bad!r}, not a number of seconds.",
                       "return base scaled by a random factor, a float.")
    if len(set(sample)) < 50:
        return verdict(False, f"only {len(set(sample))} different TTLs in 500 calls: copies still expire together.",
                       "draw a new random factor on every call with rng.random() or rng.uniform(a, b).")
    if sample != again or len(set(values)) != 1:
        return verdict(False, "the same seed gave different TTLs: you are not using the rng you are given.",
                       "use the `rng` argument (rng.random(), rng.uniform(...)), not the random module, so runs repeat.")
    low, high = min(sample), max(sample)
    if low < 0.5 * JITTER_BASE or high > 1.5 * JITTER_BASE:
        return verdict(False, f"TTLs from {low:.1f} to {high:.1f} s for a base of {JITTER_BASE:g} s: too wild.",
                       "keep every TTL within 50% of the base (a fraction like ±20% is plenty).")
    client = _private_client()
    peak = ttl.run_stampede(client, namespace(client, "check01"), name="your jitter", ttl_fn=fn).peak
    base_peak = undefended_peak()
    found = f"peak {peak} source reads/s, against {base_peak} without jitter ({peak / base_peak:.0%})"
    if peak <= PEAK_SHARE * base_peak:
        return verdict(True, f"{found}: the expiries are spread out.")
    return verdict(False, f"{found}: not yet half.",
                   f"spread wider: your TTLs only span {low:.1f} to {high:.1f} s; try ±20% of the base.")
