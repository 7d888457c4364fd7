"""The budget service's traffic: one seeded timeline of reads and writes, with its incidents.

Built from Python's `random.Random(seed)`, one draw at a time in a fixed order, so every seed
gives the same timeline on every machine and the stored outputs of notebook 06 stay exact.
"""
from __future__ import annotations

import random
from dataclasses import dataclass
from functools import lru_cache

from ..arguments import number
from ..errors import LabError
from ..workloads import value_size, zipf_picker


@dataclass(frozen=True)
class Workload:
    """A seeded request timeline for one service, with its incidents."""

    times: tuple[float, ...]
    writes: tuple[bool, ...]
    bypass: tuple[bool, ...]                    # writes made straight to the database (no invalidation)
    keys: tuple[int, ...]
    instances: tuple[int, ...]
    names: tuple[str, ...]
    sizes: tuple[int, ...]
    n_instances: int
    duration: float
    bursts: tuple[tuple[float, float], ...]
    hot_shift_at: float
    outage: tuple[int, float, float]            # (instance, start, end) of the subscriber outage
    scale_out_at: float | None
    preload: tuple[int, ...]                    # keys a batch job cached at t = 0, hottest first

    @property
    def n_keys(self) -> int:
        return len(self.names)

    def __len__(self) -> int:
        return len(self.times)

    def incidents(self, short: bool = False) -> list[tuple[float, str]]:
        """(time, what happened), sorted; `short` gives one-word labels for a plot."""
        items = [(a, "burst" if short else "write burst") for a, _ in self.bursts]
        items += [(self.hot_shift_at, "shift" if short else "hot set shifts"),
                  (self.outage[1], "outage" if short else f"instance {self.outage[0]} loses pub/sub"),
                  (self.outage[2], "back" if short else f"instance {self.outage[0]} back")]
        if self.scale_out_at is not None:
            items.append((self.scale_out_at, "+shard" if short else "a shard is added"))
        return sorted(items)


def budget_workload(n_keys: int = 500, seconds: float = 120.0, rate: float = 100.0, instances: int = 4,
                    skew: float = 1.0, write_share: float = 0.02, admin_writes: float = 0.1, burst_write_share: float = 0.3,
                    burst_every: float = 30.0, burst_length: float = 3.0, hot_shift_at: float = 70.0,
                    outage: tuple[int, float, float] = (3, 30.0, 50.0), scale_out_at: float | None = 90.0,
                    value_bytes: tuple[int, int] = (256, 6144), seed: int = 6) -> Workload:
    """Skewed reads, bursty writes, a hot-set shift, a subscriber outage and a scale-out.

    Reads and writes pick keys by a Zipf(`skew`) popularity; at `hot_shift_at` the ranking
    rotates by a tenth of the keys. Writes are `write_share` of requests, except in a
    `burst_length` s burst every `burst_every` s (a batch price update) where they are
    `burst_write_share`. On top, a back-office tool edits `admin_writes` items per second,
    picked uniformly, straight in the database: it tells no cache (only a TTL bounds those
    copies). A load balancer sends each request to a random instance.
    """
    _check_traffic(n_keys, seconds, rate, instances, skew, write_share, admin_writes, burst_write_share,
                   burst_every, burst_length)
    _check_incidents(instances, hot_shift_at, scale_out_at, outage, value_bytes)
    n_keys, instances = int(n_keys), int(instances)
    rng = random.Random(seed)
    order = list(range(n_keys))         # order[rank]: the key at that popularity rank
    rng.shuffle(order)
    bursts = _burst_windows(seconds, burst_every, burst_length)
    drawn = _draw_requests(rng, order, zipf_picker(n_keys, skew, rng), instances, seconds, rate, write_share,
                           admin_writes, burst_write_share, bursts, hot_shift_at)
    names = tuple(f"item:{k}" for k in range(n_keys))
    return Workload(*drawn, names, tuple(value_size(name, *value_bytes) for name in names), instances,
                    float(seconds), bursts, float(hot_shift_at), outage, scale_out_at, tuple(order))


def _check_traffic(n_keys, seconds, rate, instances, skew, write_share, admin_writes, burst_write_share,
                   burst_every, burst_length) -> None:
    """The shape of the traffic: counts, rates and shares within their ranges."""
    number("n_keys", n_keys, low=1, whole=True)
    number("seconds", seconds, above=0)
    number("rate", rate, above=0)
    number("instances", instances, low=1, whole=True)
    number("skew", skew, low=0)
    number("write_share", write_share, low=0, high=1)
    number("admin_writes", admin_writes, low=0, high=rate)
    number("burst_write_share", burst_write_share, low=0, high=1)
    number("burst_every", burst_every, above=0)
    number("burst_length", burst_length, low=0, high=burst_every)


def _check_incidents(instances, hot_shift_at, scale_out_at, outage, value_bytes) -> None:
    """The incidents' times, the outage's instance and the value sizes."""
    number("hot_shift_at", hot_shift_at, low=0)
    if scale_out_at is not None:
        number("scale_out_at", scale_out_at, low=0)
    if not (isinstance(outage, tuple) and len(outage) == 3):
        raise LabError(f"outage={outage!r}: give (instance, start, end), e.g. (3, 30.0, 50.0).")
    number("the outage's instance", outage[0], low=0, high=instances - 1, whole=True)
    number("the outage's start", outage[1], low=0)
    number("the outage's end", outage[2], low=outage[1])
    if not (isinstance(value_bytes, tuple) and len(value_bytes) == 2):
        raise LabError(f"value_bytes={value_bytes!r}: give (smallest, largest) in bytes, e.g. (256, 6144).")
    number("the smallest value", value_bytes[0], low=0, whole=True)
    number("the largest value", value_bytes[1], above=value_bytes[0], whole=True)


def _burst_windows(seconds: float, every: float, length: float) -> tuple[tuple[float, float], ...]:
    """(start, end) of each write burst: one every `every` s, the first half a period in."""
    starts = (every / 2 + i * every for i in range(int(seconds // every)))
    return tuple((start, start + length) for start in starts if start < seconds)


def _draw_requests(rng, order, pick, instances, seconds, rate, write_share, admin_writes, burst_write_share,
                   bursts, hot_shift_at) -> tuple[tuple, ...]:
    """(times, writes, bypass, keys, instances), one request per 1/`rate` s.

    The draws per request come in a fixed order (rank, admin, write, key, instance): changing
    it changes every seeded workload, and with it the notebook's stored numbers.
    """
    n_keys, shift = len(order), len(order) // 10
    times, writes, bypass, keys, where = [], [], [], [], []
    for i in range(int(seconds * rate)):
        t = round(i / rate, 6)
        rank = pick()
        if t >= hot_shift_at:
            rank = (rank + shift) % n_keys
        share = burst_write_share if any(a <= t < b for a, b in bursts) else write_share
        admin = rng.random() < admin_writes / rate
        times.append(t)
        writes.append(admin or rng.random() < share)
        bypass.append(admin)
        keys.append(rng.randrange(n_keys) if admin else order[rank])
        where.append(rng.randrange(instances))
    return tuple(times), tuple(writes), tuple(bypass), tuple(keys), tuple(where)


@lru_cache(maxsize=None)
def default_workload() -> Workload:
    """The workload every figure and the capstone check use (built once per process)."""
    return budget_workload()


@lru_cache(maxsize=None)
def small_workload() -> Workload:
    """40 s of the same service at 50 requests/s, every incident included: for the real-Redis check."""
    return budget_workload(seconds=40.0, rate=50.0, burst_every=20.0, hot_shift_at=25.0, outage=(3, 12.0, 22.0),
                           scale_out_at=32.0)


@lru_cache(maxsize=None)
def seeded_workload(seed: int) -> Workload:
    """`budget_workload(seed=seed)`, built once per process (seed 6 is `default_workload()`)."""
    number("seed", seed, whole=True)
    return default_workload() if seed == 6 else budget_workload(seed=seed)
