"""Self-checks for notebook 05 (monitoring: seeing entropy early)."""
from __future__ import annotations

import math
import random
from functools import lru_cache

from .. import clock
from .. import monitoring as mon
from ..backends import FakeBackend
from . import TooSlow, Verdict, time_limit, verdict

# Two INFO snapshots of a server that has run for a long time: since start it hit 90% of lookups,
# in the last 10 seconds only 75% (150 hits, 50 misses). The exercise's text states this one.
BEFORE = {"t": 100.0, "keyspace_hits": 90_000, "keyspace_misses": 10_000}
AFTER = {"t": 110.0, "keyspace_hits": 90_150, "keyspace_misses": 10_050}
IDLE = {"t": 120.0, "keyspace_hits": 90_150, "keyspace_misses": 10_050}

EXACT = 1e-9  # the ratio is exact arithmetic: a rounded answer is a (named) mistake


def _is_none_or_nan(value) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def second_interval(rng: random.Random) -> tuple[dict, dict, dict]:
    """A (before, after, idle) triple from `rng`: a long healthy history, then an interval whose hit
    ratio is neither 0.75, nor a round number, nor the since-start ratio."""
    while True:
        hits0 = rng.randrange(40_000, 400_000)
        misses0 = int(hits0 * rng.uniform(0.03, 0.12))
        hits, misses = rng.randrange(20, 400), rng.randrange(20, 400)
        right = hits / (hits + misses)
        history = (hits0 + hits) / (hits0 + hits + misses0 + misses)
        if (hits != misses and abs(right - history) > 0.05 and abs(right - hits0 / (hits0 + misses0)) > 0.05 and abs(right - 0.75) > 0.02 and abs(right - 0.25) > 0.02
                and abs(round(right, 2) - right) > 1e-4 and abs(round(right, 1) - right) > 1e-4):
            break
    t0 = float(rng.randrange(1_000, 90_000))
    before = {"t": t0, "keyspace_hits": hits0, "keyspace_misses": misses0}
    after = {"t": t0 + 10.0, "keyspace_hits": hits0 + hits, "keyspace_misses": misses0 + misses}
    idle = dict(after, t=t0 + 20.0)
    return before, after, idle


def _mistakes(before: dict, after: dict) -> list[tuple[float, str, str]]:
    """(value, what it is, next step) for each plausible wrong answer on this pair of snapshots."""
    h0, m0 = before["keyspace_hits"], before["keyspace_misses"]
    h1, m1 = after["keyspace_hits"], after["keyspace_misses"]
    h, m = h1 - h0, m1 - m0
    right = h / (h + m)
    dt = after["t"] - before["t"]
    return [
        (h1 / (h1 + m1), "the hit ratio since the server started (only `after`'s counters)",
         "subtract `before` from `after` for hits and for misses first, then divide."),
        (h0 / (h0 + m0), "the hit ratio since start at `before`",
         "use both snapshots: the interval is after minus before."),
        (m / (h + m), "the MISS ratio of the interval", "divide hits, not misses, by all lookups."),
        (h / m, "hits divided by misses", "divide by hits + misses (all lookups in the interval)."),
        (h / (h1 + m1), "interval hits divided by ALL lookups since start",
         "the denominator must be the interval's lookups too: (hits + misses) of the differences."),
        (h / dt, "hits per second, a rate, not a ratio", "divide by lookups, not by the seconds between snapshots."),
        (100 * right, "a percentage", "return a share between 0 and 1; format it with :.1% when you print."),
        (0.75, "the answer of the example the notebook shows, whatever the input",
         "compute it from the two snapshots you are given."),
    ]


def _judge_ratio(fn, before: dict, after: dict, which: str) -> Verdict | None:
    """None if `fn` gets this interval right, else a verdict naming the mistake."""
    hits = after["keyspace_hits"] - before["keyspace_hits"]
    misses = after["keyspace_misses"] - before["keyspace_misses"]
    right = hits / (hits + misses)
    got = _answer(fn, before, after, which, hits, misses)
    if isinstance(got, Verdict):
        return got
    if abs(got - right) <= EXACT:
        return None
    for value, what, step in _mistakes(before, after):
        if abs(got - value) <= EXACT * max(1.0, abs(value)) and abs(value - right) > EXACT:
            return verdict(False, f"on {which} you got {got:.4g}: that is {what}.", step)
    for digits in (1, 2, 3):
        if abs(got - round(right, digits)) <= EXACT:
            return verdict(False, f"on {which} you got {got}, {right:.6f} rounded to {digits} digits.",
                           "return the full value and round only when you print it (f'{ratio:.1%}').")
    return verdict(False, f"on {which} you got {got!r}, expected {right:.4f} ({hits} hits and {misses} misses "
                          "in the interval).",
                   "hits = after['keyspace_hits'] - before['keyspace_hits']; the same for misses; "
                   "then hits / (hits + misses).")


def _answer(fn, before: dict, after: dict, which: str, hits: int, misses: int) -> float | Verdict:
    """What `fn` returns on this interval as a float, or a failing verdict if it is no number."""
    try:
        with time_limit(5):
            got = fn(dict(before), dict(after))
    except TooSlow:
        return verdict(False, f"on {which} your function did not finish within 5 s.",
                       "two subtractions and a division need no loop.")
    except Exception as exc:  # the learner's code: report, do not crash
        return verdict(False, f"on {which} your function raised {type(exc).__name__}: {exc}",
                       "read the two counters from each snapshot: before['keyspace_hits'], ...")
    if got is None and hits == 0:
        return verdict(False, f"your function returned None for {which}: {misses} lookups, every one a miss.",
                       "that interval's hit ratio is 0; return None only when hits + misses is 0.")
    if got is None or got is Ellipsis:
        return verdict(False, f"your function returned {got!r} for {which}, which had {hits + misses} lookups.",
                       "finish it with `return hits / (hits + misses)` on the differences.")
    if isinstance(got, bool):
        return verdict(False, f"your function returned {got!r} for {which}.", "return the ratio, a float.")
    try:
        return float(got)
    except (TypeError, ValueError, OverflowError):
        return verdict(False, f"your function returned {got!r:.60} for {which}, not a number.",
                       "return a float between 0 and 1.")


def _judge_idle(fn, before: dict, idle: dict) -> Verdict | None:
    try:
        with time_limit(5):
            got = fn(dict(before), dict(idle))
    except ZeroDivisionError:
        return verdict(False, "the ratio is right, but an interval with no lookups raised ZeroDivisionError.",
                       "return None when hits + misses is 0: an idle interval has no hit ratio.")
    except TooSlow:
        return verdict(False, "on an idle interval your function did not finish within 5 s.",
                       "return None when hits + misses is 0.")
    except Exception as exc:
        return verdict(False, f"the ratio is right, but an idle interval raised {type(exc).__name__}: {exc}",
                       "return None when hits + misses is 0.")
    if _is_none_or_nan(got):
        return None
    since_start = idle["keyspace_hits"] / (idle["keyspace_hits"] + idle["keyspace_misses"])
    if isinstance(got, (int, float)) and not isinstance(got, bool) and abs(got - since_start) <= EXACT:
        return verdict(False, f"the ratio is right, but an idle interval gave {got:.4f}, the since-start ratio.",
                       "an idle interval has no hit ratio: return None, not a number from another interval.")
    what = {0: "0 (as if every lookup missed)", 1: "1 (as if every lookup hit)"}.get(got, repr(got))
    return verdict(False, f"the ratio is right, but an interval with no lookups gave {what}.",
                   "an idle interval has no hit ratio: return None (not 0, not 1).")


def check_interval_hit_ratio(fn) -> Verdict:
    """`fn(before, after)` must return the hit ratio of the lookups between two INFO snapshots.

    Tried on the notebook's example (0.75) and on a second pair built from a seed drawn here, whose
    answer differs; an interval with no lookups must give None. The answer must be exact (no rounding).
    """
    if not callable(fn):
        return verdict(False, f"{fn!r} is not a function.", "define my_interval_hit_ratio(before, after) with def.")
    rng = random.Random(random.SystemRandom().randrange(2**32))
    before, after, idle = second_interval(rng)
    all_missed = dict(after, t=after["t"] + 10.0, keyspace_misses=after["keyspace_misses"] + rng.randrange(5, 50))
    for pair, which in (((BEFORE, AFTER), "the notebook's example"), ((before, after), "a second interval"),
                        ((after, all_missed), "an interval where every lookup missed")):
        failed = _judge_ratio(fn, *pair, which)
        if failed is not None:
            return failed
    for pair in ((AFTER, IDLE), (after, idle)):
        failed = _judge_idle(fn, *pair)
        if failed is not None:
            return failed
    return verdict(True, "0.75 for the example's interval (the since-start ratio says 0.90), the exact ratio "
                         "of a second interval drawn at random, 0 when every lookup missed and None when idle: you "
                         "measure an interval, not the server's history.")


# --------------------------------------------------------------------------------------------
# The memory-creep alert
# --------------------------------------------------------------------------------------------

TICKS = 30  # the notebook's runs: 3 s of 0.1 s samples
SANDBOX = {"maxmemory": "4mb", "maxmemory_policy": "allkeys-lru"}
# Runs the learner does not see: a healthy cache with a bigger steady footprint (three times the
# catalog, four times the values), and a slower leak (half the bytes per second) that starts with a
# deploy at 1 s. Longer runs, more memory, other seeds.
HIDDEN = {
    "a busier healthy cache": dict(items=900, value_bytes=1200, seed=11),
    "a slower leak that starts at 1 s": dict(leak_at=10, session_bytes=2500, seed=12),
}
HIDDEN_TICKS = 40
HIDDEN_SANDBOX = {"maxmemory": "16mb", "maxmemory_policy": "allkeys-lru"}


def _fake_run(workload: mon.Workload, ticks: int, config: dict) -> mon.Series:
    """One run on a twin with a clock of its own, started at the same instant every time: the
    shared clock's phase (where earlier cells left it) would move the expiry cron's ticks, and
    with them the warm-up's memory, by enough to flip a verdict near a threshold."""
    previous = clock.active()
    own = FakeBackend(clock=clock.VirtualClock(), config=config)
    try:
        clock.use(own.clock)
        return mon.run(own.client(), workload, ticks=ticks, name="check")
    finally:
        own.close()
        clock.use(previous)


@lru_cache(maxsize=1)
def reference_runs() -> dict[str, mon.Series]:
    """The healthy and the memory-creep runs of notebook 05, on the fake twin."""
    healthy = mon.Workload()
    return {"healthy": _fake_run(healthy, TICKS, SANDBOX),
            "creep": _fake_run(healthy.but(session_ttl=None), TICKS, SANDBOX)}


@lru_cache(maxsize=1)
def hidden_runs() -> dict[str, mon.Series]:
    healthy = mon.Workload()
    return {name: _fake_run(healthy.but(**knobs), HIDDEN_TICKS, HIDDEN_SANDBOX) for name, knobs in HIDDEN.items()}


def _fires(rule, series: mon.Series) -> list[mon.Firing]:
    with time_limit(10):
        return mon.evaluate([rule], series)


def _absolute(rule) -> bool:
    return isinstance(rule, mon.Threshold) and rule.above is not None and rule.metric in (
        "used_memory_mib", "keys", "expires")


def check_memory_creep_alert(rule, runs: dict | None = None) -> Verdict:
    """`rule` must fire on memory creep and stay quiet on healthy caches.

    `runs` (optional) is the notebook's dict of series with "healthy" and "creep"; without it the
    check makes its own on the fake twin. The rule is also tried on runs the learner has not seen:
    a busier healthy cache (a bigger steady footprint) that must stay quiet, and a slower leak that
    starts later, which must fire.
    """
    if rule is None or rule is Ellipsis:
        return verdict(False, "there is no rule yet.", "set my_rule = mon.RateOfChange(...) or mon.Threshold(...).")
    if not runs or "healthy" not in runs or "creep" not in runs:
        runs = reference_runs()
    try:
        on_creep = _fires(rule, runs["creep"])
        on_healthy = _fires(rule, runs["healthy"])
        hidden = {name: _fires(rule, series) for name, series in hidden_runs().items()}
    except TooSlow:
        return verdict(False, "evaluating your rule took more than 10 s: it probably loops forever.",
                       "a rule returns one True/False per sample; build it from mon.RateOfChange.")
    except Exception as exc:
        return verdict(False, f"evaluating your rule raised {type(exc).__name__}: {exc}",
                       "build it from mon.Threshold or mon.RateOfChange with a metric from mon.COLUMNS.")
    failed = _judge_shown_runs(rule, len(runs["creep"]), on_creep, on_healthy)
    if failed is None:
        failed = _judge_hidden_runs(rule, hidden)
    if failed is not None:
        return failed
    return verdict(True, f"your rule fires on the creep run at {on_creep[0].start:.1f} s, stays quiet on the "
                         "healthy run and on a busier healthy cache, and catches a slower leak that starts later.")


def _judge_shown_runs(rule, samples: int, on_creep: list, on_healthy: list) -> Verdict | None:
    """None if `rule` fires on the creep run and not on the healthy one, else what it got wrong."""
    metric = getattr(rule, "metric", "")
    if on_healthy and on_creep:
        kind = ("an absolute memory threshold: the healthy run's own footprint crosses it"
                if _absolute(rule) else "a false alarm")
        hint = ("the healthy run's memory also rises while its first expired sessions wait to be reclaimed; "
                "measure the slope over a window longer than the longest TTL (1.5 s) and ask for it to last a "
                "few samples (for_=...)." if metric == "used_memory_mib" else
                f"{metric or 'your metric'} moves on a healthy cache too, as items expire and are fetched again; "
                "creep shows in used_memory_mib: watch its rate of change over a long window.")
        return verdict(False, f"your rule fires on the creep run AND on the healthy run (first at "
                              f"{on_healthy[0].start:.1f} s): {kind}.", hint)
    if on_healthy:
        return verdict(False, "your rule fires on the healthy run and not on the creep run.",
                       "memory creep is used_memory_mib that keeps rising: watch its rate of change.")
    if on_creep:
        return None
    if metric == "used_memory_mib" and isinstance(rule, mon.Threshold) and rule.above is not None:
        hint = ("an absolute threshold above where the creep run ends never fires; but any fixed level "
                "also depends on the cache's normal size: watch the rate of change instead.")
    elif metric == "used_memory_mib":
        hint = ("memory grows by about 0.27 MiB/s in the creep run, and the rule must see the rise within "
                f"the {samples} samples of a run: lower `above`, `window` or `for_`.")
    else:
        hint = (f"{metric or 'your metric'} does not show creep: watch used_memory_mib, which creeps long "
                "before evictions or misses start.")
    return verdict(False, "your rule stays quiet on the creep run: it misses the creep.", hint)


def _judge_hidden_runs(rule, hidden: dict[str, list]) -> Verdict | None:
    """None if `rule` stays quiet on the busier healthy cache and catches the slower leak."""
    busy = hidden["a busier healthy cache"]
    if busy and _absolute(rule):
        return verdict(False, f"your rule passes the two runs you saw, but it is an absolute threshold "
                              f"({rule.describe()}): on a busier healthy cache, whose normal footprint is "
                              f"bigger, it fires at {busy[0].start:.1f} s.",
                       "a fixed memory level depends on the cache's size, not on creep: alert on the rate "
                       "of change of used_memory_mib over a long window.")
    if busy:
        return verdict(False, f"your rule passes the two runs you saw, but on a busier healthy cache (more and "
                              f"bigger items, same TTLs) it fires at {busy[0].start:.1f} s: a false alarm.",
                       "its memory rises and falls as items expire; a slope over a window longer than the "
                       "longest TTL (1.5 s) averages that out; then ask for it to last a few samples.")
    if not hidden["a slower leak that starts at 1 s"]:
        return verdict(False, "your rule passes the two runs you saw, but misses a slower leak (half the bytes "
                              "per second, starting with a deploy at 1 s, in a 4 s run): it is tuned to the "
                              "speed or the timing of the creep you saw.",
                       "lower `above` (a leak of 0.15 MiB/s is still a leak) and keep `window` and `for_` short "
                       "enough to fire within a few seconds of the start of the leak.")
    return None
