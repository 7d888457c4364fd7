"""The TTL trade-off, measured: a catalogue workload replayed through cache-aside for each TTL.

A short TTL serves few stale reads but sends many reads to the source of truth; a long one the
reverse. `run_ttl` measures both on a real client (see `replay` for who expires the copies), and
`feasible_ttls` names the TTLs that meet a staleness and a hit-ratio target together.
"""
from __future__ import annotations

import math
import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import redis

from ..arguments import is_number
from ..namespaces import Namespace
from ..truth import ReadShares, SourceOfTruth
from ..workloads import Request, zipf_picker
from .inputs import TTLInputError, count, positive
from .replay import BatchedView, Copy, chunks, clear_family, replay_clock

MAX_REQUESTS = 5_000_000  # a stream larger than this would fill a learner's memory


def catalogue_stream(n_keys: int = 100, seconds: float = 300.0, read_rate: float = 100.0,
                     change_every: float = 1000.0, skew: float = 1.0, seed: int = 0) -> list[Request]:
    """A seeded catalogue workload, sorted by time.

    Reads: `read_rate` per second, evenly spaced, keys Zipf-skewed (a few items are very popular).
    Writes: each item changes at random times, on average once every `change_every` seconds,
    however popular it is (a Poisson process per item).
    """
    _check_catalogue(n_keys, seconds, read_rate, change_every, skew)
    rng = random.Random(seed)
    pick = zipf_picker(n_keys, skew, rng)
    stream = [Request(round(i / read_rate, 6), "read", f"item:{pick()}") for i in range(int(seconds * read_rate))]
    writes_rate = n_keys / change_every
    t = rng.expovariate(writes_rate)
    while t < seconds:
        stream.append(Request(round(t, 6), "write", f"item:{rng.randrange(n_keys)}"))
        t += rng.expovariate(writes_rate)
    stream.sort(key=lambda req: (req.at, req.op == "read"))  # a write at the same instant goes first
    return stream


def _check_catalogue(n_keys: int, seconds: float, read_rate: float, change_every: float, skew: float) -> None:
    count("n_keys", n_keys)
    positive("seconds", seconds)
    positive("read_rate", read_rate, "reads per second")
    positive("change_every", change_every)
    if not (is_number(skew) and skew >= 0):
        raise TTLInputError(f"skew must be a number of 0 or more (0: every item equally popular), not {skew!r}.")
    if seconds * read_rate > MAX_REQUESTS or n_keys * seconds / change_every > MAX_REQUESTS:
        raise TTLInputError("that stream would hold over 5 million requests: use fewer seconds, a lower read_rate "
                            "or a larger change_every.")


@dataclass
class TTLResult(ReadShares):
    """What one TTL did to one workload."""

    ttl: float
    seconds: float
    reads: int = 0
    hits: int = 0
    stale_reads: int = 0
    source_reads: int = 0
    max_age: float = 0.0
    total_age: float = 0.0
    round_trips: int = 0
    expired_by: str = field(default="", compare=False)
    redis_expired: int = field(default=0, compare=False)

    @property
    def source_load(self) -> float:
        """Reads per second that reached the source of truth."""
        return self.source_reads / self.seconds

    @property
    def mean_age(self) -> float:
        """Mean staleness age of the stale reads (seconds)."""
        return self.total_age / self.stale_reads if self.stale_reads else 0.0


def _seed_truth(truth: SourceOfTruth, stream: Sequence[Request]) -> None:
    """Version 1 of every key the stream touches, written at t = 0 (item:2 before item:10)."""
    for key in sorted({req.key for req in stream}, key=lambda k: (len(k), k)):
        truth.write(key, f"{key} v1", 0.0)


def run_ttl(client: redis.Redis, ns: Namespace, stream: Sequence[Request], ttl: float,
            batch: float = 100.0, clock: Any = None) -> TTLResult:
    """Replay `stream` through a cache-aside cache whose copies live `ttl` seconds.

    Reads: a fresh copy is a hit (stale if the truth has moved on since); a missing or expired
    copy is a miss, read from the source of truth and cached with a Redis TTL of `ttl`. Writes
    go to the source of truth only: the TTL is the only defence. Uses the keys under
    `ns.key("ttl", ...)`, clearing them before and after. `batch`: seconds of stream per round
    trip (see `BatchedView`). `clock`: a virtual clock the replay may move (default: the lab's,
    in fake mode); see `entropy_lab.ttl.replay` for who expires the copies.
    """
    ttl = positive("ttl", ttl)
    batch = positive("batch", batch)
    if not stream:
        raise TTLInputError("the stream is empty: build one with ttl.catalogue_stream(...).")
    truth = SourceOfTruth()
    _seed_truth(truth, stream)
    result = TTLResult(ttl=ttl, seconds=math.floor(max(req.at for req in stream)) + 1.0)
    clear_family(client, ns, "ttl")
    view = BatchedView(client, replay_clock(client, clock))
    full = {key: ns.key("ttl", key) for key in {req.key for req in stream}}
    _replay(view, truth, chunks(stream, batch), full, ttl, result)
    result.round_trips = view.round_trips
    result.expired_by, result.redis_expired = view.expired_by, view.dropped
    clear_family(client, ns, "ttl")
    return result


def _replay(view: BatchedView, truth: SourceOfTruth, slices: Iterable[list[Request]], full: dict[str, str],
            ttl: float, result: TTLResult) -> None:
    """Serve every request, slice by slice, and count into `result` (local counters: this is the hot loop)."""
    reads = hits = stale = source_reads = 0
    total_age = max_age = 0.0
    stale_since, known = truth.stale_since, view.known
    for chunk in slices:
        view.begin((full[req.key] for req in chunk if req.op == "read"), chunk[0].at)
        for req in chunk:
            key, at = req.key, req.at
            if req.op == "write":
                truth.write(key, f"{key} v{truth.peek(key).version + 1}", at)
                continue
            reads += 1
            copy = known[full[key]]  # begin() fetched every key this slice reads
            if copy is not None and at < copy.deadline:
                hits += 1
                since = stale_since(key, copy.version)
                if since is not None:
                    stale += 1
                    total_age += at - since
                    max_age = max(max_age, at - since)
                continue
            record = truth.read(key)
            source_reads += 1
            view.set(full[key], Copy(record.version, at + ttl, 0.0, record.value), at)
        view.flush()
    result.reads, result.hits, result.stale_reads, result.source_reads = reads, hits, stale, source_reads
    result.total_age, result.max_age = total_age, max_age


def ttl_sweep(client: redis.Redis, ns: Namespace, stream: Sequence[Request], ttls: Iterable[float],
              batch: float = 100.0) -> list[TTLResult]:
    """`run_ttl` for each TTL, on the same stream."""
    return [run_ttl(client, ns, stream, ttl, batch) for ttl in ttls]


def feasible_ttls(results: Iterable[TTLResult], max_stale: float = 0.01, min_hit: float = 0.90) -> list[float]:
    """The TTLs whose stale-read fraction is below `max_stale` and hit ratio above `min_hit`."""
    return [res.ttl for res in results if res.stale_fraction < max_stale and res.hit_ratio > min_hit]
