"""Watch a cache decay (lesson 00): a seeded read/write stream through a cache with no defence.

The cache is a real Redis (fake or live); time is the stream's own timeline, so
the same numbers come out on every backend. Disorder is measured, never asserted:
stale-read fraction, staleness age, and the share of cached bytes that are stale.
The stream itself (`Request`, `request_stream`, `value_size`, `payload`) comes from
`entropy_lab.workloads`, which lessons 01, 02 and 06 share.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import redis

from .arguments import number
from .errors import LabError
from .namespaces import Namespace
from .truth import ReadShares, SourceOfTruth, decode, encode
from .workloads import Request, payload, request_stream, value_size

__all__ = [  # the stream helpers live in workloads; importable from here as lesson 00 taught them
    "DecayRun", "NaiveCache", "ReadOutcome", "Request", "Snapshot", "number", "payload", "request_stream",
    "run_decay", "seed_truth", "stale_bytes_share", "value_size",
]


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
class Snapshot(ReadShares):
    """Disorder in one time window of the stream."""

    t: float
    reads: int
    hits: int
    stale_reads: int
    mean_age: float
    max_age: float
    stale_bytes_share: float


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
