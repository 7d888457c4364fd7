"""LFU's logarithmic counter that decays: measured with OBJECT FREQ, and computed with the twin's
own LFU functions."""
from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import redis

from ..errors import LabError
from ..twin import lrulfu
from .fill import get_many, value_of
from .owned import configure, wait
from .inputs import MAX_GETS, check_count, check_number


def lfu_counter_growth(client: redis.Redis, log_factors: Iterable[int] = (0, 1, 10, 100),
                       checkpoints: Sequence[int] = (0, 1, 10, 100, 1000)) -> dict[int, list[int]]:
    """OBJECT FREQ of a key after each checkpoint's number of GETs, per lfu-log-factor.

    Runs on a lab-owned server under allkeys-lfu (OBJECT FREQ needs an LFU policy).
    """
    log_factors = [check_count("lfu-log-factor", f) for f in log_factors]
    checkpoints = [check_count("A checkpoint", c, 0, MAX_GETS) for c in checkpoints]
    if checkpoints != sorted(checkpoints):
        raise LabError(f"checkpoints must be in increasing order (numbers of GETs so far), not {checkpoints}.")
    out: dict[int, list[int]] = {}
    for factor in log_factors:
        configure(client, maxmemory_policy="allkeys-lfu", lfu_log_factor=factor)
        client.set("hot", value_of(16))
        freqs, done = [], 0
        for target in checkpoints:
            get_many(client, "hot", target - done)
            done = target
            freqs.append(int(client.object("freq", "hot")))
        out[factor] = freqs
    return out


def lfu_model_curve(hits: Sequence[int], log_factor: int = 10, seed: int = 0) -> list[int]:
    """The LFU counter after each number of `hits` (no decay), one seeded run, fast.

    LFULogIncr moves the counter c up with probability p(c) = 1 / ((c - 5) * factor + 1) (always
    below 5), so the number of accesses spent at each value is geometric with mean 1 / p(c):
    drawing those waits gives the same distribution as calling the twin's `lfu_log_incr` once
    per access, for a million accesses in microseconds.
    """
    hits = [check_count("A number of hits", h) for h in hits]
    log_factor = check_count("log_factor", log_factor)
    rng = np.random.default_rng(seed)
    values = np.arange(lrulfu.LFU_INIT_VAL, 255)
    p = 1.0 / (np.maximum(values - lrulfu.LFU_INIT_VAL, 0) * log_factor + 1.0)
    reach = np.cumsum(rng.geometric(p))   # reach[i]: accesses until the counter is values[i] + 1
    return [int(lrulfu.LFU_INIT_VAL + np.searchsorted(reach, h, side="right")) for h in hits]


def lfu_model_decay(counter: int, idle_minutes: Sequence[float], decay_time: int = 1) -> list[int]:
    """The counter after each idle time, by the twin's decay function (lfu-decay-time minutes)."""
    counter = check_count("counter", counter, 0, 255)
    decay_time = check_count("decay_time", decay_time)
    out = []
    for minutes in [check_number("Idle minutes", m) for m in idle_minutes]:
        stamp = (0 << 8) | counter
        out.append(lrulfu.lfu_decr_and_return(stamp, int(minutes), decay_time))
    return out


def lfu_decay(client: redis.Redis, hits: int = 1000, idle_minutes: Sequence[float] = (0, 1, 5, 10, 30),
              decay_time: int = 1, log_factor: int = 10) -> list[int]:
    """OBJECT FREQ of a key after `hits` GETs and then each idle time (minutes) on the lab clock.

    Against a real server this would take real minutes: run it in `twin_sandbox()`.
    """
    hits = check_count("hits", hits, 0, MAX_GETS)
    idle_minutes = [check_number("Idle minutes", m) for m in idle_minutes]
    if idle_minutes != sorted(idle_minutes):
        raise LabError(f"idle_minutes must be in increasing order, not {list(idle_minutes)}.")
    configure(client, maxmemory_policy="allkeys-lfu", lfu_log_factor=check_count("log_factor", log_factor),
              lfu_decay_time=check_count("decay_time", decay_time))
    client.set("hot", value_of(16))
    get_many(client, "hot", hits)
    out, waited = [], 0.0
    for minutes in idle_minutes:
        wait(client, 60 * minutes - waited)
        waited = 60 * minutes
        out.append(int(client.object("freq", "hot")))
    return out
