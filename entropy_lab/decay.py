"""Watch a cache decay: a seeded read/write stream through a cache with no defence.

The cache is a real Redis (fake or live); time is the stream's own timeline, so
the same numbers come out on every backend. Disorder is measured, never asserted:
stale-read fraction, staleness age, and the share of cached bytes that are stale.
"""
from __future__ import annotations

import hashlib
import math
import random
from bisect import bisect
from dataclasses import dataclass, field
from itertools import accumulate

import redis

from .errors import LabError
from .namespaces import Namespace
from .truth import SourceOfTruth, decode, encode


@dataclass(frozen=True)
class Request:
    at: float   # seconds since the start of the stream
    op: str     # "read" or "write"
    key: str


def number(name: str, value: object, low: float | None = None, high: float | None = None,
           above: float | None = None, whole: bool = False) -> float:
    """`value` if it is a finite number within the bounds, else a LabError that says which argument and how.

    `low`/`high` are inclusive bounds, `above` an exclusive lower bound; `whole` asks for an int.
    """
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    if whole:
        ok = ok and float(value).is_integer()
    ok = ok and (low is None or value >= low) and (high is None or value <= high) and (above is None or value > above)
    if not ok:
        kind = "a whole number" if whole else "a number"
        bounds = [f"at least {low:g}" if low is not None else "", f"above {above:g}" if above is not None else "",
                  f"at most {high:g}" if high is not None else ""]
        where = " and ".join(b for b in bounds if b)
        raise LabError(f"{name}={value!r}: use {kind}{' ' + where if where else ''}.")
    return value


def value_size(key: str, low: int = 64, high: int = 2048) -> int:
    """A stable per-key payload size in bytes (some records are big, most small), from low to high - 1."""
    if not isinstance(key, str):
        raise LabError(f"key={key!r}: a key is a string, e.g. 'item:7'.")
    number("low", low, low=0, whole=True)
    number("high", high, above=low, whole=True)
    digest = int(hashlib.sha256(key.encode()).hexdigest()[:8], 16)
    return low + digest % (high - low)


def request_stream(n_keys: int = 200, seconds: float = 60.0, rate: float = 100.0,
                   write_share: float = 0.1, skew: float = 1.0, seed: int = 0) -> list[Request]:
    """A seeded stream: Zipf-skewed keys (`skew`), `rate` requests/s, `write_share` writes."""
    number("n_keys", n_keys, low=1, whole=True)
    number("seconds", seconds, above=0)
    number("rate", rate, above=0)
    number("write_share", write_share, low=0, high=1)
    number("skew", skew, low=0)
    n_keys = int(n_keys)
    rng = random.Random(seed)
    keys = [f"item:{i}" for i in range(n_keys)]
    cumulative = list(accumulate(1 / (rank + 1) ** skew for rank in range(n_keys)))
    total = cumulative[-1]
    stream = []
    for i in range(int(seconds * rate)):
        key = keys[bisect(cumulative, rng.random() * total)]
        op = "write" if rng.random() < write_share else "read"
        stream.append(Request(round(i / rate, 6), op, key))
    return stream


def payload(key: str, version: int) -> str:
    """The value a write stores: recognisable, and `value_size(key)` bytes long."""
    number("version", version, low=1, whole=True)
    head = f"{key} v{version} "
    return head + "x" * max(0, value_size(key) - len(head))


@dataclass
class ReadOutcome:
    hit: bool
    stale: bool
    age: float  # seconds the served copy had been out of date (0 when fresh)


class NaiveCache:
    """Cache-aside with no defence: no TTL, no invalidation, no memory bound."""

    def __init__(self, client: redis.Redis, ns: Namespace, truth: SourceOfTruth) -> None:
        self.client, self.ns, self.truth = client, ns, truth

    def read(self, key: str, now: float) -> ReadOutcome:
        cached = self.client.get(self.ns.key(key))
        if cached is None:
            record = self.truth.read(key)
            if record is not None:
                self.client.set(self.ns.key(key), encode(record))
            return ReadOutcome(hit=False, stale=False, age=0.0)
        version, _ = decode(cached)
        since = self.truth.stale_since(key, version)
        return ReadOutcome(hit=True, stale=since is not None, age=0.0 if since is None else now - since)

    def write(self, key: str, now: float) -> None:
        """Update the source of truth only: the cache is not told (that is the point)."""
        current = self.truth.peek(key)
        self.truth.write(key, payload(key, (current.version if current else 0) + 1), now)


@dataclass
class Snapshot:
    """Disorder in one time window of the stream."""

    t: float
    reads: int
    hits: int
    stale_reads: int
    mean_age: float
    max_age: float
    stale_bytes_share: float

    @property
    def stale_fraction(self) -> float:
        """Share of this window's reads that returned a stale copy (0.0 for a window without reads)."""
        return self.stale_reads / self.reads if self.reads else 0.0

    @property
    def hit_ratio(self) -> float:
        """Share of this window's reads answered by the cache (0.0 for a window without reads)."""
        return self.hits / self.reads if self.reads else 0.0


def stale_bytes_share(client: redis.Redis, ns: Namespace, truth: SourceOfTruth) -> float:
    """Share of the cached payload bytes that no longer match the source of truth."""
    keys = list(ns.scan())
    if not keys:
        return 0.0
    stale = total = 0
    for full_key, cached in zip(keys, client.mget(keys)):
        if cached is None:
            continue
        version, value = decode(cached)
        total += len(value)
        if truth.stale_since(ns.name(full_key), version) is not None:
            stale += len(value)
    return stale / total if total else 0.0


@dataclass
class DecayRun:
    snapshots: list[Snapshot] = field(default_factory=list)

    def column(self, name: str) -> list[float]:
        return [getattr(s, name) for s in self.snapshots]


def seed_truth(truth: SourceOfTruth, keys: list[str]) -> None:
    """Version 1 of every key, written at t=0."""
    for key in keys:
        truth.write(key, payload(key, 1), 0.0)


def run_decay(client: redis.Redis, ns: Namespace, stream: list[Request], window: float = 5.0) -> tuple[DecayRun, SourceOfTruth]:
    """Replay `stream` through a NaiveCache and measure disorder every `window` seconds."""
    number("window", window, above=0)
    if not isinstance(stream, (list, tuple)) or not all(isinstance(r, Request) for r in stream):
        raise LabError("stream: give the list that request_stream(...) returns.")
    truth = SourceOfTruth()
    seed_truth(truth, sorted({r.key for r in stream}))
    cache, run = NaiveCache(client, ns, truth), DecayRun()
    outcomes: list[ReadOutcome] = []
    window_end = window
    for request in stream:
        while request.at >= window_end:
            run.snapshots.append(_snapshot(window_end, outcomes, client, ns, truth))
            outcomes, window_end = [], window_end + window
        if request.op == "read":
            outcomes.append(cache.read(request.key, request.at))
        else:
            cache.write(request.key, request.at)
    run.snapshots.append(_snapshot(window_end, outcomes, client, ns, truth))
    return run, truth


def _snapshot(t: float, outcomes: list[ReadOutcome], client: redis.Redis, ns: Namespace,
              truth: SourceOfTruth) -> Snapshot:
    ages = [o.age for o in outcomes if o.stale]
    return Snapshot(
        t=t, reads=len(outcomes), hits=sum(o.hit for o in outcomes), stale_reads=len(ages),
        mean_age=sum(ages) / len(ages) if ages else 0.0, max_age=max(ages, default=0.0),
        stale_bytes_share=stale_bytes_share(client, ns, truth),
    )
