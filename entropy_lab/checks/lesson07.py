"""Self-checks for notebook 07 (size your own cache).

The exercise is posed on a trace the notebook never sizes (the evening traffic): the check
simulates it in full, with the twin's model, at every size of the grid, so a learner's answer is
judged against exact curves, not against the sample the learner used.
"""
from __future__ import annotations

from functools import lru_cache

from .. import workloads
from ..sizing import size_curves
from . import Verdict, verdict

EVENING = dict(n_requests=40_000, n_keys=6_000, alpha=0.9, scan_every=8_000, scan_length=3_000, seed=21)
GRID = ("1100kb", "1200kb", "1300kb", "1400kb", "1500kb", "1600kb", "1800kb", "2000kb")
POLICIES = ("allkeys-lru", "allkeys-lfu", "allkeys-random")
TARGET = 0.45


def evening_trace() -> workloads.Trace:
    """The evening traffic: the same kind of reads, plus a batch job that scans 3,000 cold keys
    every 8,000 requests (each scanned key is read once)."""
    return workloads.with_scans(**EVENING)


@lru_cache(maxsize=1)
def _exact() -> dict[str, list[float]]:
    report = size_curves(evening_trace(), list(GRID), list(POLICIES), sample=None)
    return {p: [float(h) for h in c.hit_ratios] for p, c in report.curves.items()}


def answer() -> tuple[int, str, list[str]]:
    """(index of the smallest size that meets TARGET, that size, the policies that meet it there)."""
    exact = _exact()
    for index, size in enumerate(GRID):
        winners = [p for p in POLICIES if exact[p][index] >= TARGET]
        if winners:
            return index, size, winners
    raise AssertionError("the evening grid must contain an answer")


def check_evening_size(choice) -> Verdict:
    """`choice` = (policy, maxmemory): the smallest maxmemory of GRID at which some policy reaches
    TARGET on the evening trace, with a policy that reaches it there."""
    if choice is None or choice is Ellipsis or (isinstance(choice, tuple) and Ellipsis in choice):
        return verdict(False, "evening_choice is not set yet.",
                       'set it to a pair like ("allkeys-lru", "1800kb") after you measure the evening curves.')
    try:
        policy, size = choice
    except (TypeError, ValueError):
        return verdict(False, f"got {choice!r}, expected a pair (policy, maxmemory).",
                       'write it like ("allkeys-lfu", "2000kb").')
    if policy not in POLICIES:
        return verdict(False, f"{policy!r} is not one of the policies sized here.", f"choose from {', '.join(POLICIES)}.")
    if isinstance(size, (int, float)) and not isinstance(size, bool):
        return verdict(False, f"{size!r} is a number: is it keys or bytes? The grid is in memory sizes.",
                       f"pick one of {', '.join(GRID)} (strings, as maxmemory takes them).")
    if size not in GRID:
        return verdict(False, f"{size!r} is not one of the sizes of the evening grid.", f"pick one of {', '.join(GRID)}.")
    index, best, winners = answer()
    exact = _exact()
    at = GRID.index(size)
    hit = exact[policy][at]
    if hit < TARGET:
        reason = ("no policy reaches the target there" if at < index else
                  f"{policy} does not reach it at that size, though {', '.join(winners)} would at {best}")
        return verdict(False, f"{policy} at {size} hits {hit:.1%} of reads on the evening traffic, under the "
                              f"{TARGET:.0%} target: {reason}.",
                       "size the EVENING trace (not the morning one): run size_curves on evening_trace() "
                       "with this grid and read where each curve first crosses the target.")
    if at > index:
        return verdict(False, f"{policy} at {size} reaches {hit:.1%}, but {', '.join(winners)} already reach the "
                              f"{TARGET:.0%} target at {best}: you would pay for memory you do not need.",
                       "take the SMALLEST size where any policy crosses the target line.")
    return verdict(True, f"{policy} at {size}: {hit:.1%} of the evening's reads hit (full simulation), the "
                         f"smallest size in the grid that meets {TARGET:.0%}.")
