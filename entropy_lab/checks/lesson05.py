"""Self-checks for notebook 05 (monitoring: seeing entropy early)."""
from __future__ import annotations

import math
from functools import lru_cache

from .. import clock
from .. import monitoring as mon
from ..backends import sandbox
from . import Verdict, verdict

# Two INFO snapshots of a server that has run for a long time: since start it hit 90% of lookups,
# in the last 10 seconds only 75% (150 hits, 50 misses).
BEFORE = {"t": 100.0, "keyspace_hits": 90_000, "keyspace_misses": 10_000}
AFTER = {"t": 110.0, "keyspace_hits": 90_150, "keyspace_misses": 10_050}
IDLE = {"t": 120.0, "keyspace_hits": 90_150, "keyspace_misses": 10_050}


def _is_none_or_nan(value) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def check_interval_hit_ratio(fn) -> Verdict:
    """`fn(before, after)` must return the hit ratio of the lookups between two INFO snapshots."""
    try:
        got = fn(dict(BEFORE), dict(AFTER))
    except Exception as exc:  # the learner's code: report, do not crash
        return verdict(False, f"your function raised {type(exc).__name__}: {exc}",
                       "read the two counters from each snapshot: before['keyspace_hits'], ...")
    if got is None:
        return verdict(False, "your function returned None for an interval with 200 lookups.",
                       "finish it with `return hits / (hits + misses)` on the differences.")
    try:
        got = float(got)
    except (TypeError, ValueError):
        return verdict(False, f"your function returned {got!r}, not a number.", "return a float between 0 and 1.")
    if abs(got - 90_150 / 100_200) < 1e-6 or abs(got - 0.9) < 1e-9:
        return verdict(False, f"got {got:.3f}: that is the hit ratio since the server started.",
                       "subtract `before` from `after` for hits and misses first, then divide.")
    if abs(got - 0.25) < 1e-9:
        return verdict(False, "got 0.25: that is the MISS ratio of the interval.", "divide hits, not misses, by lookups.")
    if abs(got - 150 / 50) < 1e-9:
        return verdict(False, "got 3.0: hits divided by misses.", "divide by hits + misses (all lookups).")
    if abs(got - 0.75) > 1e-9:
        return verdict(False, f"got {got!r}, expected 0.75 (150 hits and 50 misses in the interval).",
                       "hits = after - before for keyspace_hits; the same for misses.")
    try:
        idle = fn(dict(AFTER), dict(IDLE))
    except ZeroDivisionError:
        return verdict(False, "0.75 is right, but an interval with no lookups raised ZeroDivisionError.",
                       "return None when hits + misses is 0: an idle interval has no hit ratio.")
    except Exception as exc:
        return verdict(False, f"0.75 is right, but an idle interval raised {type(exc).__name__}: {exc}",
                       "return None when hits + misses is 0.")
    if not _is_none_or_nan(idle):
        return verdict(False, f"0.75 is right, but an interval with no lookups gave {idle!r}.",
                       "an idle interval has no hit ratio: return None (not 0, not 1).")
    return verdict(True, "0.75 for the last interval (the since-start ratio says 0.90), None when idle.")


@lru_cache(maxsize=1)
def _reference_runs() -> dict[str, mon.Series]:
    """The healthy and the memory-creep runs of notebook 05, on the fake twin."""
    previous = clock.active()
    try:
        runs = {}
        healthy = mon.Workload()
        for name, workload in (("healthy", healthy), ("creep", healthy.but(session_ttl=None))):
            with sandbox("fake", maxmemory="4mb", maxmemory_policy="allkeys-lru") as client:
                runs[name] = mon.run(client, workload, ticks=20, name=name)
        return runs
    finally:
        clock.use(previous)


def check_memory_creep_alert(rule, runs: dict | None = None) -> Verdict:
    """`rule` must fire on the memory-creep run and stay quiet on the healthy run.

    `runs` (optional) is the notebook's dict of series with "healthy" and "creep"; without it the
    check makes its own on the fake twin.
    """
    if rule is None or rule is Ellipsis:
        return verdict(False, "there is no rule yet.", "set my_rule = mon.RateOfChange(...) or mon.Threshold(...).")
    if not runs or "healthy" not in runs or "creep" not in runs:
        runs = _reference_runs()
    try:
        on_creep = mon.evaluate([rule], runs["creep"])
        on_healthy = mon.evaluate([rule], runs["healthy"])
    except Exception as exc:
        return verdict(False, f"evaluating your rule raised {type(exc).__name__}: {exc}",
                       "build it from mon.Threshold or mon.RateOfChange with a metric from mon.COLUMNS.")
    metric = getattr(rule, "metric", "")
    if on_healthy and on_creep:
        return verdict(False, f"your rule fires on the creep run AND on the healthy run (first at "
                              f"{on_healthy[0].start:.1f} s): a false alarm.",
                       "the healthy run's memory also rises for about a second while sessions fill up; ask for "
                       "the rise to last longer (for_=...) or measure it over a longer window.")
    if on_healthy:
        return verdict(False, "your rule fires on the healthy run and not on the creep run.",
                       "memory creep is used_memory_mib that keeps rising: watch its rate of change.")
    if not on_creep:
        hint = ("memory grows by about 0.25 MiB/s in the creep run, and the rule must see the rise within "
                "the 20 samples of a run: lower `above`, `window` or `for_`." if metric == "used_memory_mib" else
                "watch used_memory_mib: creep shows in memory first, long before evictions or misses.")
        return verdict(False, "your rule stays quiet on the creep run: it misses the creep.", hint)
    return verdict(True, f"your rule fires on the creep run at {on_creep[0].start:.1f} s and stays quiet on the "
                         "healthy run.")
