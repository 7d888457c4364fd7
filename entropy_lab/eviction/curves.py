"""Policies against workloads on the twin's trace simulator: the lesson's traces, hit-ratio curves,
and the sizing exercise (the smallest cache that reaches a target hit ratio)."""
from __future__ import annotations

import dataclasses
import difflib
import functools
from collections.abc import Iterable, Sequence

import numpy as np

from .. import workloads
from ..arguments import is_number
from ..errors import LabError
from ..twin import simulate
from .inputs import check_count, check_number
from .policies import check_policy


SIMULATED = "simulated: the twin's trace simulator"  # the label on every figure of a simulated run
SIM_POLICIES = ("allkeys-lru", "allkeys-lfu", "allkeys-random", "volatile-ttl")
SIM_RATE = 100.0          # requests per second: the 1 s LRU clock and LFU decay act at this pace
SIM_REQUESTS = 6_000
SIM_KEYS = 1_000
SIM_TTL_S = 3600.0        # every key gets the same TTL (none expires during a run), so
                          # volatile-ttl has candidates and evicts the earliest-written keys


def lesson_workloads(n_requests: int = SIM_REQUESTS, n_keys: int = SIM_KEYS, seed: int = 3) -> dict:
    """The three seeded traces of the lesson, every key with the same long TTL.

    zipf: steady popularity; scans: Zipf with a one-off scan of cold keys every fifth of the
    trace; shifting: Zipf whose hot half moves every fifth of the trace; news (the sizing
    exercise's trace): 600 articles whose hot half moves once, halfway through.
    """
    every = n_requests // 5
    traces = {
        "zipf": workloads.zipf(n_requests, n_keys, 1.0, seed=seed),
        "scans": workloads.with_scans(n_requests, n_keys, 1.0, scan_every=every, scan_length=n_keys // 2,
                                      seed=seed),
        "shifting": workloads.shifting_hot_set(n_requests, n_keys, 1.0, shift_every=every,
                                               shift_by=n_keys // 2, seed=seed),
    }
    # the sizing exercise's trace: never plotted in the lesson, so its answer must be measured
    traces["news"] = workloads.shifting_hot_set(n_requests, NEWS_KEYS, 1.0, shift_every=n_requests // 2,
                                                shift_by=NEWS_KEYS // 2, seed=11)
    return {name: dataclasses.replace(trace, ttls=np.full(len(trace), SIM_TTL_S, np.float32))
            for name, trace in traces.items()}


NEWS_KEYS = 600
WORKLOAD_NAMES = ("zipf", "scans", "shifting")
ALL_WORKLOADS = (*WORKLOAD_NAMES, "news")


@functools.lru_cache(maxsize=1)
def _lesson_traces() -> dict:
    return lesson_workloads()


def lesson_trace(workload: str):
    """One of the lesson's traces by name: "zipf", "scans" or "shifting"."""
    traces = _lesson_traces()
    if workload not in traces:
        guess = difflib.get_close_matches(str(workload).strip().lower(), ALL_WORKLOADS, n=1, cutoff=0.6)
        hint = f"did you mean {guess[0]!r}?" if guess else f"choose one of {', '.join(ALL_WORKLOADS)}."
        raise LabError(f"Unknown workload {workload!r}: {hint}")
    return traces[workload]


@functools.lru_cache(maxsize=4096)
def lesson_run(workload: str, policy: str, max_keys: int, samples: int = 5, rate: float = SIM_RATE):
    """The twin's simulator on a lesson trace (cache-aside, `max_keys` keys, `rate` requests/s).

    Results are remembered, so the figures, the explorer and the checks share them.
    """
    check_policy(policy)
    if is_number(max_keys) and max_keys < 1:
        raise LabError(f"A cache holds at least 1 key, not {max_keys}.")
    max_keys = check_count("max_keys", max_keys, 1)
    samples = check_count("samples", samples, 1, 64)
    rate = check_number("rate", rate, 0, strict=True)
    return simulate(lesson_trace(workload), policy=policy, max_keys=max_keys, samples=samples, rate=rate)


def lesson_curves(workload: str, sizes: Sequence[int], policies: Iterable[str] = SIM_POLICIES,
                  samples: int = 5) -> dict[str, list[float]]:
    """Hit ratio at each cache size (keys) for each policy on a lesson trace."""
    policies = [check_policy(p) for p in ([policies] if isinstance(policies, str) else policies)]
    sizes = [check_count("A cache size", size, 1) for size in sizes]
    return {policy: [lesson_run(workload, policy, size, samples).hit_ratio for size in sizes]
            for policy in policies}


def smallest_size(curves: dict[str, list[float]], sizes: Sequence[int], target: float) -> tuple[str, int] | None:
    """The (policy, size) with the smallest size whose hit ratio reaches `target` (ties: the
    higher hit ratio), or None if no run reaches it."""
    sizes = list(sizes)
    if any(len(hits) != len(sizes) for hits in curves.values()):
        raise LabError(f"Every curve needs one hit ratio per size ({len(sizes)} sizes).")
    target = check_number("target", target)
    best = None
    for policy, hits in curves.items():
        for size, hit in zip(sizes, hits):
            if hit >= target:
                key = (size, -hit)
                if best is None or key < best[0]:
                    best = (key, policy, size)
                break
    return None if best is None else (best[1], best[2])


CHOICE_SIZES = (25, 50, 100, 200, 400)
SHOWN_WORKLOAD = "zipf"       # the worked example: its answer is printed in the lesson
SHOWN_TARGET = 0.60
CHOICE_WORKLOAD = "news"      # the exercise: a trace the lesson never plots, so the learner measures
CHOICE_TARGET = 0.75
