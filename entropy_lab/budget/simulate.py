"""Run a workload through the service: the discrete-event simulation behind every budget number.

The service: app instances, each with a local cache (L1, lazy expiry), in front of a shared
Redis tier (L2) and a source of truth that answers a miss after `SOURCE_LATENCY` seconds (the
window of the cache-aside race). Time is the workload's own, with no wall clock and no threads,
so a run is deterministic and takes milliseconds. The tier and the channel are objects: the
model's by default, a real client's in `replay_on_redis`.

Random draws (TTL jitter here, eviction samples in the tier) come in the workload's order; the
stored outputs of notebook 06 depend on that order staying as it is.
"""
from __future__ import annotations

import heapq
import math
import random
from typing import Any

from ..errors import LabError
from ..truth import SourceOfTruth
from .channels import make_channel
from .config import BASELINE_BYTES, MB, SAMPLE_EVERY, SOURCE_LATENCY, BudgetConfig, validate
from .model import BYTES, EXPIRES, TOMBSTONE, VERSION, ModelRedis, entry_sizes
from .result import BudgetResult
from .workload import Workload, default_workload

PRELOAD_SHARE = 0.9     # the batch job warms each shard up to this share of its room


def simulate_budget(config: BudgetConfig, workload: Workload | None = None, tier: Any = None,
                    channel: Any = None, seed: int = 0) -> BudgetResult:
    """Run `workload` (default: `default_workload()`) through the service built from `config`.

    `tier` and `channel` default to the model's (`ModelRedis`, a model channel); pass the
    objects from `replay_on_redis` to run the same service against a real Redis.
    """
    config = validate(config)
    if workload is not None and not isinstance(workload, Workload):
        raise LabError(f"workload: expected a Workload from budget_workload(...), got {type(workload).__name__}.")
    w = default_workload() if workload is None else workload
    tier = ModelRedis(config, w, seed) if tier is None else tier
    channel = make_channel(config.invalidation, w.n_instances) if channel is None else channel
    service = _Service(config, w, tier, channel, seed)
    service.preload()
    service.replay()
    return service.result()


def incident_events(w: Workload) -> list[tuple[float, str]]:
    """(time, kind) of what happens besides requests: the outage, the scale-out, the memory samples."""
    events = [(w.outage[1], "down"), (w.outage[2], "up")]
    if w.scale_out_at is not None:
        events.append((w.scale_out_at, "scale"))
    events += [(SAMPLE_EVERY * (i + 1), "sample") for i in range(int(w.duration // SAMPLE_EVERY))]
    return sorted(events)


class _Service:
    """One run's state: the truth, the local caches, the pending fills and the counters."""

    # slots: read() touches a dozen attributes per request, and a sweep runs hundreds of thousands of reads
    __slots__ = ("config", "w", "tier", "channel", "rng", "truth", "current", "ttl", "l1_ttl", "jitter", "use_l1",
                 "l1", "pending", "seq", "per_reads", "per_stale", "per_source", "l1_hits",
                 "stale", "source", "stale_fills", "moved", "round_trips", "worst", "wasted", "l1_peak", "ebytes")

    def __init__(self, config: BudgetConfig, w: Workload, tier: Any, channel: Any, seed: int) -> None:
        self.config, self.w, self.tier, self.channel = config, w, tier, channel
        self.rng = random.Random(seed)
        self.truth = SourceOfTruth()
        for name in w.names:
            self.truth.write(name, "v1", 0.0)
        self.current = [1] * w.n_keys                  # a mirror of truth's versions, for speed
        self.ttl, self.l1_ttl, self.jitter = config.ttl, config.l1_ttl, config.jitter
        self.use_l1 = config.l1_ttl != 0
        self.l1: list[dict[int, list]] = [{} for _ in range(w.n_instances)]   # key -> [version, expires]
        self.pending: list[tuple[float, int, int, int, int]] = []           # (due, seq, instance, key, version)
        self.seq = 0
        seconds = int(math.ceil(w.duration))
        # per second; hits are not counted: every read is a hit or a source read
        self.per_reads, self.per_stale, self.per_source = [0] * seconds, [0] * seconds, [0] * seconds
        self.l1_hits = self.stale = self.source = self.stale_fills = self.moved = self.round_trips = 0
        self.worst = 0.0
        self.wasted: list[int] = []
        self.l1_peak = 0
        self.ebytes = entry_sizes(w.sizes)

    def expiry(self, ttl: float | None, now: float) -> float:
        """When a copy stored at `now` expires: `ttl`, spread by the jitter knob (None: never)."""
        if ttl is None:
            return math.inf
        jitter = self.jitter
        return now + (ttl * (1 + jitter * (2 * self.rng.random() - 1)) if jitter else ttl)

    def preload(self) -> None:
        """A batch job warms Redis at t = 0 with the hottest keys that fit in 90% of each shard."""
        room = [PRELOAD_SHARE * (self.config.maxmemory_mb * MB - BASELINE_BYTES)] * self.config.shards
        for key in self.w.preload:
            shard, size = self.tier.owner[key], self.ebytes[key]
            if room[shard] >= size:
                room[shard] -= size
                self.tier.set(key, 1, self.expiry(self.ttl, 0.0), 0.0)

    def replay(self) -> None:
        """Every request in order; due fills and incidents first, late fills after the last request."""
        w = self.w
        events = incident_events(w)
        ev, next_event = 0, events[0][0] if events else math.inf
        read, write, pending = self.read, self.write, self.pending
        for now, is_write, bypass, key, instance in zip(w.times, w.writes, w.bypass, w.keys, w.instances):
            if pending and pending[0][0] <= now:       # checked here: a call per request costs 5%
                self.fill_due(now)
            while now >= next_event:
                self.on_event(*events[ev])
                ev += 1
                next_event = events[ev][0] if ev < len(events) else math.inf
            if is_write:
                write(key, now, not bypass)
            else:
                read(key, instance, now)
        self.fill_due(math.inf)

    def fill_due(self, now: float) -> None:
        """Complete the cache fills whose source read has come back by `now`."""
        pending = self.pending
        while pending and pending[0][0] <= now:
            due, _, instance, key, version = heapq.heappop(pending)
            self.fill(due, instance, key, version)

    def fill(self, now: float, instance: int, key: int, version: int) -> None:
        """The cache-aside fill: SET the version read earlier (compare-and-set when versioned)."""
        versioned = self.config.versioned
        self.round_trips += 2 if versioned else 1
        if version < self.current[key]:
            self.stale_fills += 1
        stored = self.tier.set(key, version, self.expiry(self.ttl, now), now, if_newer=versioned)
        if self.use_l1 and (stored or not versioned):
            self.l1[instance][key] = [version, self.expiry(self.l1_ttl, now)]

    def on_event(self, at: float, kind: str) -> None:
        if kind == "sample":
            self.sample(at)
        elif kind == "down":
            self.channel.disconnect(self.w.outage[0])
        elif kind == "up":
            for key in self.channel.reconnect(self.w.outage[0]):
                self.l1[self.w.outage[0]].pop(key, None)
        elif kind == "scale":
            self.moved += self.tier.add_shard()

    def write(self, key: int, now: float, announced: bool) -> None:
        """A write reaches the truth; announced ones also delete (or tombstone) the copy and publish."""
        record = self.truth.write(self.w.names[key], f"v{self.current[key] + 1}", now)
        self.current[key] = record.version
        if not announced or self.config.invalidation == "none":
            return
        self.round_trips += 1
        if self.config.versioned:
            self.tier.set(key, record.version, self.expiry(self.ttl, now), now, tombstone=True)
        else:
            self.tier.delete(key)
        for heard in self.channel.publish(key, now):
            self.l1[heard].pop(key, None)

    def read(self, key: int, instance: int, now: float) -> None:
        """Serve from L1, else from Redis (filling L1), else read the truth and schedule the fill.

        One method, not three: it runs for every read, and calls cost a fifth of a sweep's time.
        """
        self.per_reads[int(now)] += 1
        l1 = self.l1[instance]
        cached = l1.get(key) if self.use_l1 else None    # [version, expires]
        if cached is not None and cached[1] > now:
            self.l1_hits += 1
            served = cached[0]
        else:
            if cached is not None:
                del l1[key]                     # lazy expiry: an expired copy goes when read
            self.round_trips += 1
            entry = self.tier.get(key, now)
            if entry is None or entry[TOMBSTONE]:
                self.miss(key, instance, now)
                return
            served = entry[VERSION]
            if self.use_l1:
                l1[key] = [served, self.expiry(self.l1_ttl, now)]
        if served < self.current[key]:
            self.stale_read(key, served, now)

    def stale_read(self, key: int, served: int, now: float) -> None:
        """Count a read served an outdated version, and how long that version has been outdated."""
        self.stale += 1
        self.per_stale[int(now)] += 1
        self.worst = max(self.worst, now - self.truth.stale_since(self.w.names[key], served))

    def miss(self, key: int, instance: int, now: float) -> None:
        """Read the truth; the fill lands SOURCE_LATENCY later, with the version read now."""
        self.truth.read(self.w.names[key])
        self.source += 1
        self.per_source[int(now)] += 1
        self.seq += 1
        heapq.heappush(self.pending, (now + SOURCE_LATENCY, self.seq, instance, key, self.current[key]))

    def sample(self, now: float) -> None:
        """Measure waste; local caches drop their expired entries here (a sweep every SAMPLE_EVERY s)."""
        waste = l1_bytes = 0
        ebytes, current = self.ebytes, self.current
        for cache in self.l1:
            dead = [key for key, (version, expires) in cache.items() if expires <= now]
            for key in dead:
                del cache[key]
            waste += sum(ebytes[key] for key in dead)
            l1_bytes += sum(ebytes[key] for key in cache)
            waste += sum(ebytes[key] for key, (version, _) in cache.items() if version < current[key])
        owner = self.tier.owner
        for shard, key, entry in self.tier.entries():
            if not entry[TOMBSTONE] and (entry[EXPIRES] <= now or entry[VERSION] < current[key]
                                         or owner[key] != shard):
                waste += entry[BYTES]
        self.wasted.append(waste)
        self.l1_peak = max(self.l1_peak, l1_bytes)

    def result(self) -> BudgetResult:
        w, tier, channel = self.w, self.tier, self.channel
        reads = sum(self.per_reads)
        per = {"reads": self.per_reads, "hits": [r - s for r, s in zip(self.per_reads, self.per_source)],
               "stale": self.per_stale, "source": self.per_source}
        return BudgetResult(
            config=self.config, duration=w.duration, requests=len(w), reads=reads, writes=len(w) - reads,
            hits=reads - self.source, l1_hits=self.l1_hits, stale_reads=self.stale, worst_staleness=round(self.worst, 6),
            wasted_mb=sum(self.wasted) / len(self.wasted) / MB if self.wasted else 0.0,
            keys_moved=self.moved, source_reads=self.source, source_peak=max(self.per_source),
            round_trips=self.round_trips + channel.round_trips, messages=channel.messages,
            memory_mb=tier.provisioned_mb() + (self.l1_peak + channel.retained_bytes) / MB,
            evictions=tier.evictions, refused_writes=tier.refused, stale_fills=self.stale_fills,
            per_second=per, redis_bytes=sum(entry[BYTES] for _, _, entry in tier.entries()),
        )
