"""An entropy budget: one service, every defence a knob, disorder against energy.

This is a MODEL, a discrete-event simulation on the workload's own timeline (no
wall clock, no threads), so a sweep of dozens of configurations runs in seconds:

- a source of truth (`SourceOfTruth`, versioned records) that answers a cache miss
  after `SOURCE_LATENCY` seconds (a slow query: the window of the cache-aside race);
- several app instances, each with an in-process local cache (L1, lazy expiry);
- a shared Redis tier (L2) split over `shards` shards by client-side hashing, each with
  a memory limit and an eviction policy;
- an invalidation channel (none, pub/sub, stream) and optional versioned writes.

Where it leans on behaviour measured elsewhere in the series (and not re-simulated):
pub/sub loses messages sent while a subscriber is away and a stream replays them
(notebook 02); an empty Redis uses about 1 MB and a key costs its value plus about
100 bytes (FACTS, notebook 03); rendezvous hashing moves about 1/(N+1) of the keys and
modulo hashing about N/(N+1) (notebook 04). Eviction here is a simple stand-in for
Redis's (sample 5 keys, evict the worst; no 16-entry pool); the twin
(`entropy_lab.twin`) models the real algorithm. `replay_on_redis` runs the same
service against a real redis-py client so the model can be checked on one point (its
bookkeeping: copies carry soft TTLs, and the server has room enough that nothing is evicted).

The capstone (`check_budget_config`) judges a configuration on the eight workloads of
`CAPSTONE_SEEDS` (`run_seeds`): rates on their mean, peaks on the worst workload.

Two measured demos run on a real client instead of the model: `write_strategies`
(cache-aside, write-through, write-behind) and `duplicate_keys` (one record under two keys).
"""
from __future__ import annotations

import hashlib
import heapq
import json
import math
import random
from bisect import bisect
from dataclasses import asdict, dataclass, field, replace
from functools import lru_cache
from itertools import accumulate
from typing import Any

from .decay import number, value_size
from .errors import LabError
from .truth import SourceOfTruth

MB = 1024 * 1024
SOURCE_LATENCY = 0.05      # seconds between a miss reading the truth and its cache fill
BASELINE_BYTES = 1 * MB    # used_memory of an empty Redis (FACTS: "about 1 MB")
KEY_OVERHEAD = 100         # bytes per key beyond the value (dict entry, robj, sds headers)
TOMBSTONE_BYTES = 40       # a versioned delete leaves the version behind, no value
STREAM_ENTRY_BYTES = 120   # one invalidation entry in a stream (XADD MAXLEN ~ STREAM_MAXLEN)
STREAM_MAXLEN = 1000
SAMPLES = 5                # keys sampled per eviction (maxmemory-samples)
SAMPLE_EVERY = 10.0        # seconds between memory samples (local caches sweep expired entries then)

POLICIES = ("allkeys-lru", "allkeys-lfu", "allkeys-random", "volatile-lru", "noeviction")
CHANNELS = ("none", "pubsub", "stream")
HASHINGS = ("consistent", "modulo")

# The price of energy, in arbitrary units. An assumption you can change: per source read,
# per Redis round trip, per invalidation message, per MB of memory held for the whole run.
PRICES = {"source_read": 1.0, "round_trip": 0.1, "message": 0.05, "memory_mb": 2.0}


@dataclass(frozen=True)
class BudgetConfig:
    """Every defence in the series as one knob."""

    ttl: float | None = 60.0        # L2 time-to-live in seconds (None: copies never expire)
    jitter: float = 0.0             # TTLs spread uniformly over ttl * (1 +- jitter)
    l1_ttl: float | None = 5.0      # local-cache TTL in seconds (0: no local cache, None: never expires)
    invalidation: str = "none"      # "none", "pubsub" or "stream"
    versioned: bool = False         # deletes leave a version; fills never write an older one
    maxmemory_mb: float = 2.0       # per shard, like maxmemory
    policy: str = "allkeys-lru"     # maxmemory-policy
    shards: int = 1                 # Redis shards before the scale-out
    hashing: str = "consistent"     # "consistent" (rendezvous) or "modulo"

    def describe(self) -> str:
        """A short label, e.g. 'ttl 60 s, L1 5 s, pubsub, 2 MB x1'."""
        ttl = "no TTL" if self.ttl is None else f"ttl {self.ttl:g} s"
        if self.jitter:
            ttl += f" ±{self.jitter:.0%}"
        l1 = "no L1" if self.l1_ttl == 0 else ("L1 forever" if self.l1_ttl is None else f"L1 {self.l1_ttl:g} s")
        inval = self.invalidation + ("+versions" if self.versioned else "")
        return f"{ttl}, {l1}, {inval}, {self.maxmemory_mb:g} MB x{self.shards} {self.policy}"


def validate(config: Any) -> BudgetConfig:
    """The config if every knob is legal, else a LabError that says which one and how to fix it."""
    if not isinstance(config, BudgetConfig):
        raise LabError(f"Expected a BudgetConfig(...), got {type(config).__name__}: "
                       "build one with entropy_lab.budget.BudgetConfig(ttl=..., ...).")
    def is_number(value: Any) -> bool:
        return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)

    if config.ttl is not None and not (is_number(config.ttl) and config.ttl > 0):
        raise LabError(f"ttl={config.ttl!r}: use a number of seconds above 0, or None for no TTL.")
    if not (is_number(config.jitter) and 0 <= config.jitter < 1):
        raise LabError(f"jitter={config.jitter!r}: use a fraction from 0 up to (not including) 1, e.g. 0.1 for ±10%.")
    if config.l1_ttl is not None and not (is_number(config.l1_ttl) and config.l1_ttl >= 0):
        raise LabError(f"l1_ttl={config.l1_ttl!r}: use seconds (0 turns the local cache off) or None.")
    if not isinstance(config.versioned, bool):
        raise LabError(f"versioned={config.versioned!r}: use True or False.")
    if config.invalidation not in CHANNELS:
        raise LabError(f"invalidation={config.invalidation!r}: choose one of {', '.join(CHANNELS)}.")
    if config.policy not in POLICIES:
        raise LabError(f"policy={config.policy!r}: choose one of {', '.join(POLICIES)}.")
    if config.hashing not in HASHINGS:
        raise LabError(f"hashing={config.hashing!r}: choose one of {', '.join(HASHINGS)}.")
    if not (isinstance(config.shards, int) and not isinstance(config.shards, bool) and 1 <= config.shards <= 16):
        raise LabError(f"shards={config.shards!r}: use a whole number from 1 to 16.")
    if not is_number(config.maxmemory_mb):
        raise LabError(f"maxmemory_mb={config.maxmemory_mb!r}: use a number of megabytes per shard, e.g. 2.")
    if config.maxmemory_mb * MB <= BASELINE_BYTES:
        raise LabError(f"maxmemory_mb={config.maxmemory_mb!r}: an empty Redis already uses about "
                       f"{BASELINE_BYTES / MB:g} MB, so give each shard more than that (e.g. 2).")
    return config


# ---------------------------------------------------------------- the workload

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
    n_keys, instances = int(n_keys), int(instances)
    rng = random.Random(seed)
    order = list(range(n_keys))
    rng.shuffle(order)
    cumulative = list(accumulate(1 / (rank + 1) ** skew for rank in range(n_keys)))
    total, shift = cumulative[-1], n_keys // 10
    bursts = tuple((start, start + burst_length)
                   for start in (burst_every / 2 + i * burst_every for i in range(int(seconds // burst_every)))
                   if start < seconds)
    times, writes, bypass, keys, where = [], [], [], [], []
    for i in range(int(seconds * rate)):
        t = round(i / rate, 6)
        rank = bisect(cumulative, rng.random() * total)
        if t >= hot_shift_at:
            rank = (rank + shift) % n_keys
        share = burst_write_share if any(a <= t < b for a, b in bursts) else write_share
        admin = rng.random() < admin_writes / rate
        times.append(t)
        writes.append(admin or rng.random() < share)
        bypass.append(admin)
        keys.append(rng.randrange(n_keys) if admin else order[rank])
        where.append(rng.randrange(instances))
    names = tuple(f"item:{k}" for k in range(n_keys))
    return Workload(tuple(times), tuple(writes), tuple(bypass), tuple(keys), tuple(where), names,
                    tuple(value_size(name, *value_bytes) for name in names), instances, float(seconds), bursts,
                    float(hot_shift_at), outage, scale_out_at, tuple(order))


@lru_cache(maxsize=None)
def default_workload() -> Workload:
    """The workload every figure and the capstone check use (built once per process)."""
    return budget_workload()


@lru_cache(maxsize=None)
def small_workload() -> Workload:
    """40 s of the same service at 50 requests/s, every incident included: for the real-Redis check."""
    return budget_workload(seconds=40.0, rate=50.0, burst_every=20.0, hot_shift_at=25.0, outage=(3, 12.0, 22.0),
                           scale_out_at=32.0)


@lru_cache(maxsize=64)
def owners(n_keys: int, shards: int, hashing: str) -> tuple[int, ...]:
    """The shard of every key: rendezvous (highest random weight) or modulo, on sha1."""
    number("n_keys", n_keys, low=1, whole=True)
    number("shards", shards, low=1, whole=True)
    if hashing not in HASHINGS:
        raise LabError(f"hashing={hashing!r}: choose one of {', '.join(HASHINGS)}.")
    def h(text: str) -> int:
        return int.from_bytes(hashlib.sha1(text.encode()).digest()[:8], "big")
    if hashing == "modulo":
        return tuple(h(f"item:{k}") % shards for k in range(n_keys))
    return tuple(max(range(shards), key=lambda s: h(f"item:{k}@shard{s}")) for k in range(n_keys))


def entry_bytes(size: int) -> int:
    """Memory one cached copy of a `size`-byte value costs in Redis (the model's estimate)."""
    number("size", size, low=0, whole=True)
    return size + KEY_OVERHEAD


# ---------------------------------------------------------------- the shared Redis tier (model)

class ModelRedis:
    """The shared Redis tier as a model: shards with a memory limit and an eviction policy.

    An entry is [version, expires_at, bytes, last_access, lfu_counter, tombstone].
    Expired entries are reclaimed when read or when eviction samples them.
    Eviction is a stand-in: sample `SAMPLES` keys of the full shard, evict the worst
    (LRU: oldest access on a 1 s clock; LFU: lowest Redis-style log counter; random).
    """

    def __init__(self, config: BudgetConfig, workload: Workload, seed: int = 0) -> None:
        self.config, self.sizes, self.rng = config, workload.sizes, random.Random(seed)
        self.capacity = int(config.maxmemory_mb * MB) - BASELINE_BYTES
        self.n_keys = workload.n_keys
        self.bytes = tuple(entry_bytes(size) for size in workload.sizes)
        self.tables: list[dict[int, list]] = []
        self.lists: list[list[int]] = []
        self.pos: list[dict[int, int]] = []
        self.used: list[int] = []
        self.owner: tuple[int, ...] = ()
        self.evictions = self.refused = self.moved = 0
        self.shards = 0
        self._grow(config.shards)

    def _grow(self, shards: int) -> None:
        while len(self.tables) < shards:
            self.tables.append({})
            self.lists.append([])
            self.pos.append({})
            self.used.append(0)
        self.shards = shards
        self.owner = owners(self.n_keys, shards, self.config.hashing)

    def add_shard(self) -> int:
        """Scale out by one shard; returns how many cached keys now live elsewhere (orphans)."""
        before = self.owner
        self._grow(self.shards + 1)
        moved = sum(1 for s, table in enumerate(self.tables) for k in table if self.owner[k] != s)
        self.moved += moved
        return moved

    def get(self, key: int, now: float) -> list | None:
        shard = self.owner[key]
        entry = self.tables[shard].get(key)
        if entry is None:
            return None
        if entry[1] <= now:
            self._remove(shard, key)
            return None
        entry[3] = now
        if self.config.policy == "allkeys-lfu":
            entry[4] = _lfu_touch(entry[4], self.rng)
        return entry

    def peek(self, key: int) -> list | None:
        return self.tables[self.owner[key]].get(key)

    def set(self, key: int, version: int, expires: float, now: float, tombstone: bool = False,
            if_newer: bool = False) -> bool:
        """Store a copy (or a tombstone); False if refused (OOM, or an older version under `if_newer`)."""
        shard = self.owner[key]
        table = self.tables[shard]
        old = table.get(key)
        if if_newer and old is not None and old[1] > now and old[0] > version:
            return False
        size = TOMBSTONE_BYTES if tombstone else self.bytes[key]
        if old is not None:
            self.used[shard] -= old[2]
        elif self.used[shard] + size > self.capacity and not self._make_room(shard, size, now):
            self.refused += 1
            return False
        if old is None:
            self.pos[shard][key] = len(self.lists[shard])
            self.lists[shard].append(key)
        table[key] = [version, expires, size, now, 5, tombstone]
        self.used[shard] += size
        return True

    def delete(self, key: int) -> None:
        shard = self.owner[key]
        if key in self.tables[shard]:
            self._remove(shard, key)

    def _remove(self, shard: int, key: int) -> None:
        entry = self.tables[shard].pop(key)
        self.used[shard] -= entry[2]
        keys, pos = self.lists[shard], self.pos[shard]
        i = pos.pop(key)
        last = keys.pop()
        if last != key:
            keys[i] = last
            pos[last] = i

    def _make_room(self, shard: int, size: int, now: float) -> bool:
        policy = self.config.policy
        if policy == "noeviction" or (policy == "volatile-lru" and self.config.ttl is None):
            return False  # volatile-* with no TTL on any key has no candidate: OOM, like noeviction
        table, keys, random_ = self.tables[shard], self.lists[shard], self.rng.random
        while self.used[shard] + size > self.capacity and keys:
            n = len(keys)
            if policy == "allkeys-random":
                victim = keys[int(random_() * n)]
            else:
                sampled = [keys[int(random_() * n)] for _ in range(SAMPLES)]
                expired = [k for k in sampled if table[k][1] <= now]
                if expired:
                    victim = expired[0]
                elif policy == "allkeys-lfu":
                    victim = min(sampled, key=lambda k: _lfu_decayed(table[k], now))
                else:
                    victim = min(sampled, key=lambda k: int(table[k][3]))
            self._remove(shard, victim)
            self.evictions += 1
        return self.used[shard] + size <= self.capacity

    def entries(self):
        """(shard, key, entry) for every stored entry (for measuring waste)."""
        for shard, table in enumerate(self.tables):
            for key, entry in table.items():
                yield shard, key, entry

    def provisioned_mb(self) -> float:
        return self.shards * self.config.maxmemory_mb

    def close(self) -> None:
        pass


def _lfu_touch(counter: int, rng: random.Random, log_factor: int = 10) -> int:
    """Redis's LFULogIncr: probabilistic, logarithmic, saturating at 255."""
    if counter >= 255:
        return 255
    base = max(0, counter - 5)
    return counter + 1 if rng.random() < 1.0 / (base * log_factor + 1) else counter


def _lfu_decayed(entry: list, now: float) -> int:
    """The counter minus one per minute since the last access (lfu-decay-time 1)."""
    return max(0, entry[4] - int((now - entry[3]) // 60))


# ---------------------------------------------------------------- invalidation channels (model)

class NoChannel:
    """Nobody is told about a write: the TTLs are the only defence."""

    messages = 0
    round_trips = 0
    retained_bytes = 0

    def __init__(self, n_instances: int) -> None:
        self.connected = [True] * n_instances

    def publish(self, key: int, now: float) -> list[int]:
        return []

    def disconnect(self, instance: int) -> None:
        self.connected[instance] = False

    def reconnect(self, instance: int) -> list[int]:
        self.connected[instance] = True
        return []

    def close(self) -> None:
        pass


class PubSubChannel(NoChannel):
    """Fire and forget: 1 PUBLISH, 1 delivery per connected subscriber; the absent hear nothing."""

    def publish(self, key: int, now: float) -> list[int]:
        heard = [i for i, up in enumerate(self.connected) if up]
        self.messages += 1 + len(heard)
        self.round_trips += 1
        return heard


class StreamChannel(NoChannel):
    """A durable log: 1 XADD, each subscriber reads and XACKs; a returning one replays its backlog."""

    def __init__(self, n_instances: int) -> None:
        super().__init__(n_instances)
        self.backlog: list[list[int]] = [[] for _ in range(n_instances)]
        self.entries = 0

    def publish(self, key: int, now: float) -> list[int]:
        heard = [i for i, up in enumerate(self.connected) if up]
        for i, up in enumerate(self.connected):
            if not up:
                self.backlog[i].append(key)
        self.entries += 1
        self.messages += 1 + 2 * len(heard)        # XADD, then a delivery and an XACK each
        self.round_trips += 1 + len(heard)         # XADD, one XACK per subscriber
        return heard

    def reconnect(self, instance: int) -> list[int]:
        self.connected[instance] = True
        missed, self.backlog[instance] = self.backlog[instance], []
        self.messages += 2 * len(missed)
        self.round_trips += 1 + (1 if missed else 0)   # one XREADGROUP for the backlog, one batched XACK
        return missed

    @property
    def retained_bytes(self) -> int:
        return min(self.entries, STREAM_MAXLEN) * STREAM_ENTRY_BYTES


def make_channel(kind: str, n_instances: int) -> NoChannel:
    return {"none": NoChannel, "pubsub": PubSubChannel, "stream": StreamChannel}[kind](n_instances)


# ---------------------------------------------------------------- results

@dataclass
class BudgetResult:
    """Disorder and energy of one configuration on one workload."""

    config: BudgetConfig
    duration: float
    requests: int
    reads: int
    writes: int
    hits: int
    l1_hits: int
    stale_reads: int
    worst_staleness: float          # s: the oldest stale copy any read was served
    wasted_mb: float                # mean MB held by stale, expired or orphaned copies (L1 + Redis)
    keys_moved: int                 # cached keys that landed on the wrong shard at the scale-out
    source_reads: int
    source_peak: int                # most source reads in any one second
    round_trips: int                # Redis round trips (reads, fills, deletes, publishes, acks)
    messages: int                   # invalidation messages (publishes, deliveries, acks)
    memory_mb: float                # Redis memory provisioned (all shards) + peak local caches
    evictions: int
    refused_writes: int             # cache fills refused by Redis (OOM under noeviction or volatile-*)
    stale_fills: int                # fills that wrote an already-superseded version (the race)
    per_second: dict[str, list[int]] = field(default_factory=dict, repr=False)
    redis_bytes: int = 0            # the model's estimate of Redis data bytes at the end

    @property
    def hit_ratio(self) -> float:
        return self.hits / self.reads if self.reads else 0.0

    @property
    def stale_fraction(self) -> float:
        return self.stale_reads / self.reads if self.reads else 0.0

    @property
    def source_rate(self) -> float:
        return self.source_reads / self.duration

    def energy_items(self, prices: dict[str, float] | None = None) -> dict[str, float]:
        """Energy per second of service, by item, at `prices` (default PRICES)."""
        p = PRICES if prices is None else prices
        missing = [name for name in PRICES if name not in p]
        if missing:
            raise LabError(f"prices: missing {', '.join(missing)}; start from {{**bg.PRICES, ...}}.")
        for name in PRICES:
            number(f"the price of {name}", p[name], low=0)
        return {
            "source reads": p["source_read"] * self.source_reads / self.duration,
            "round trips": p["round_trip"] * self.round_trips / self.duration,
            "messages": p["message"] * self.messages / self.duration,
            "memory": p["memory_mb"] * self.memory_mb,
        }

    def energy(self, prices: dict[str, float] | None = None) -> float:
        """Total energy per second of service (arbitrary units, see PRICES)."""
        return sum(self.energy_items(prices).values())

    def row(self) -> list:
        """The usual table row: disorder, then performance, then energy."""
        return [self.config.describe(), f"{self.stale_fraction:.2%}", self.worst_staleness, f"{self.hit_ratio:.1%}",
                self.source_peak, self.memory_mb, self.energy()]


ROW_HEADERS = ["configuration (model)", "stale reads", "worst age (s)", "hit ratio", "source peak (/s)",
               "memory (MB)", "energy (model units/s)"]


# ---------------------------------------------------------------- the simulation

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
    rng = random.Random(seed)
    tier = ModelRedis(config, w, seed) if tier is None else tier
    channel = make_channel(config.invalidation, w.n_instances) if channel is None else channel
    truth = SourceOfTruth()
    names, sizes, n_inst = w.names, w.sizes, w.n_instances
    for name in names:
        truth.write(name, "v1", 0.0)
    current = [1] * w.n_keys                      # a mirror of truth's versions, for speed

    ttl, l1_ttl, jitter = config.ttl, config.l1_ttl, config.jitter
    inf = math.inf
    use_l1 = l1_ttl != 0
    versioned, invalidate = config.versioned, config.invalidation != "none"

    def l2_expiry(now: float) -> float:
        if ttl is None:
            return inf
        return now + (ttl * (1 + jitter * (2 * rng.random() - 1)) if jitter else ttl)

    def l1_expiry(now: float) -> float:
        if l1_ttl is None:
            return inf
        return now + (l1_ttl * (1 + jitter * (2 * rng.random() - 1)) if jitter else l1_ttl)

    # a batch job warms Redis at t = 0 with the hottest keys that fit in 90% of each shard
    round_trips = 0
    room = [0.9 * (config.maxmemory_mb * MB - BASELINE_BYTES)] * config.shards
    for key in w.preload:
        shard = tier.owner[key]
        if room[shard] >= entry_bytes(sizes[key]):
            room[shard] -= entry_bytes(sizes[key])
            tier.set(key, 1, l2_expiry(0.0), 0.0)

    l1: list[dict[int, list]] = [{} for _ in range(n_inst)]
    pending: list[tuple[float, int, int, int, int]] = []   # (due, seq, instance, key, version)
    seq = 0
    seconds = int(math.ceil(w.duration))
    per = {"reads": [0] * seconds, "hits": [0] * seconds, "stale": [0] * seconds, "source": [0] * seconds}
    per_reads, per_hits, per_stale, per_source = per["reads"], per["hits"], per["stale"], per["source"]
    hits = l1_hits = stale = source = stale_fills = moved = 0
    worst = 0.0
    wasted_samples: list[int] = []
    l1_peak = 0

    events: list[tuple[float, str]] = [(w.outage[1], "down"), (w.outage[2], "up")]
    if w.scale_out_at is not None:
        events.append((w.scale_out_at, "scale"))
    events += [(SAMPLE_EVERY * (i + 1), "sample") for i in range(int(w.duration // SAMPLE_EVERY))]
    events.sort()
    next_event = events[0][0] if events else inf
    ev = 0
    outage_instance = w.outage[0]

    def fill(now: float, instance: int, key: int, version: int) -> None:
        nonlocal round_trips, stale_fills
        round_trips += 2 if versioned else 1
        if version < current[key]:
            stale_fills += 1
        stored = tier.set(key, version, l2_expiry(now), now, if_newer=versioned)
        if use_l1 and (stored or not versioned):
            l1[instance][key] = [version, l1_expiry(now)]

    ebytes = tuple(entry_bytes(size) for size in sizes)

    def sample(now: float) -> None:
        """Measure waste; local caches drop their expired entries here (a sweep every SAMPLE_EVERY s)."""
        nonlocal l1_peak
        waste = l1_bytes = 0
        for cache in l1:
            dead = [key for key, (version, expires) in cache.items() if expires <= now]
            for key in dead:
                del cache[key]
            waste += sum(ebytes[key] for key in dead)
            held = sum(ebytes[key] for key in cache)
            l1_bytes += held
            waste += sum(ebytes[key] for key, (version, _) in cache.items() if version < current[key])
        owner = tier.owner
        for shard, key, entry in tier.entries():
            if not entry[5] and (entry[1] <= now or entry[0] < current[key] or owner[key] != shard):
                waste += entry[2]
        wasted_samples.append(waste)
        l1_peak = max(l1_peak, l1_bytes)

    times, writes_, keys_, insts, bypass = w.times, w.writes, w.keys, w.instances, w.bypass
    for i in range(len(times)):
        now = times[i]
        while pending and pending[0][0] <= now:
            due, _, inst, key, version = heapq.heappop(pending)
            fill(due, inst, key, version)
        while now >= next_event:
            at, kind = events[ev]
            if kind == "sample":
                sample(at)
            elif kind == "down":
                channel.disconnect(outage_instance)
            elif kind == "up":
                for key in channel.reconnect(outage_instance):
                    l1[outage_instance].pop(key, None)
            elif kind == "scale":
                moved += tier.add_shard()
            ev += 1
            next_event = events[ev][0] if ev < len(events) else inf
        key, inst = keys_[i], insts[i]
        second = int(now)
        if writes_[i]:
            record = truth.write(names[key], f"v{current[key] + 1}", now)
            current[key] = record.version
            if invalidate and not bypass[i]:
                round_trips += 1
                if versioned:
                    tier.set(key, record.version, l2_expiry(now), now, tombstone=True)
                else:
                    tier.delete(key)
                for heard in channel.publish(key, now):
                    l1[heard].pop(key, None)
            continue
        per_reads[second] += 1
        served = None
        if use_l1:
            cached = l1[inst].get(key)
            if cached is not None:
                if cached[1] > now:
                    served = cached[0]
                    l1_hits += 1
                else:
                    del l1[inst][key]
        if served is None:
            round_trips += 1
            entry = tier.get(key, now)
            if entry is not None and not entry[5]:
                served = entry[0]
                if use_l1:
                    l1[inst][key] = [served, l1_expiry(now)]
        if served is None:
            truth.read(names[key])
            source += 1
            per_source[second] += 1
            seq += 1
            heapq.heappush(pending, (now + SOURCE_LATENCY, seq, inst, key, current[key]))
            continue
        hits += 1
        per_hits[second] += 1
        if served < current[key]:
            stale += 1
            per_stale[second] += 1
            age = now - truth.stale_since(names[key], served)
            if age > worst:
                worst = age
    while pending:
        due, _, inst, key, version = heapq.heappop(pending)
        fill(due, inst, key, version)

    reads = sum(per_reads)
    assert source == truth.reads
    round_trips += channel.round_trips
    redis_bytes = sum(e[2] for _, _, e in tier.entries())
    result = BudgetResult(
        config=config, duration=w.duration, requests=len(times), reads=reads, writes=len(times) - reads,
        hits=hits, l1_hits=l1_hits, stale_reads=stale, worst_staleness=round(worst, 6),
        wasted_mb=sum(wasted_samples) / len(wasted_samples) / MB if wasted_samples else 0.0,
        keys_moved=moved, source_reads=source, source_peak=max(per_source), round_trips=round_trips,
        messages=channel.messages,
        memory_mb=tier.provisioned_mb() + (l1_peak + channel.retained_bytes) / MB,
        evictions=tier.evictions, refused_writes=tier.refused, stale_fills=stale_fills,
        per_second=per, redis_bytes=redis_bytes,
    )
    return result


@lru_cache(maxsize=512)
def _cached_run(config: BudgetConfig) -> BudgetResult:
    return simulate_budget(config)


def run(config: BudgetConfig) -> BudgetResult:
    """`simulate_budget(config)` on the default workload, remembered (configs are hashable)."""
    return _cached_run(validate(config))


def sweep(configs: list[BudgetConfig]) -> list[BudgetResult]:
    """One result per configuration, on the default workload."""
    if isinstance(configs, BudgetConfig) or not hasattr(configs, "__iter__"):
        raise LabError("sweep takes a list of BudgetConfig(...), e.g. sweep([BudgetConfig(ttl=30), BudgetConfig(ttl=60)]).")
    return [run(c) for c in configs]


def pareto_front(results: list[BudgetResult], x: str = "energy", y: str = "stale_fraction") -> list[BudgetResult]:
    """The results no other result beats on both `x` and `y` (lower is better), sorted by `x`."""
    def value(r: BudgetResult, name: str) -> float:
        return r.energy() if name == "energy" else getattr(r, name)

    if not all(isinstance(r, BudgetResult) for r in results):
        raise LabError("pareto_front takes the results of sweep(...) or run(...).")
    for name in (x, y):
        if results and not (name == "energy" or isinstance(getattr(results[0], name, None), (int, float))):
            raise LabError(f"{name!r} is not a measure of a result: use e.g. 'energy', 'stale_fraction', "
                           "'worst_staleness', 'memory_mb'.")
    ordered = sorted(results, key=lambda r: (value(r, x), value(r, y)))
    front, best = [], math.inf
    for r in ordered:
        if value(r, y) < best:
            front.append(r)
            best = value(r, y)
    return front


# ---------------------------------------------------------------- the service level objective

@dataclass(frozen=True)
class SLO:
    """What the service promises. Every number is a ceiling except `min_hit_ratio`."""

    max_stale_fraction: float = 0.005
    min_hit_ratio: float = 0.90
    max_source_peak: int = 35       # source reads in any one second
    max_memory_mb: float = 7.0      # Redis (all shards, after the scale-out) + local caches

    def __post_init__(self) -> None:
        number("max_stale_fraction", self.max_stale_fraction, above=0, high=1)
        number("min_hit_ratio", self.min_hit_ratio, low=0, high=1)
        number("max_source_peak", self.max_source_peak, above=0)
        number("max_memory_mb", self.max_memory_mb, above=0)

    def misses(self, result: BudgetResult) -> list[tuple[str, str, str]]:
        """(objective, what was measured, how to fix it) for every objective `result` misses."""
        out = []
        if result.stale_fraction >= self.max_stale_fraction:
            out.append(("stale reads", f"{result.stale_fraction:.2%} (limit {self.max_stale_fraction:.1%})",
                        "tell the caches about writes (invalidation), and close the race and the outage gap "
                        "(versioned writes, a stream, or a short local-cache TTL)."))
        if result.hit_ratio <= self.min_hit_ratio:
            out.append(("hit ratio", f"{result.hit_ratio:.1%} (needs over {self.min_hit_ratio:.0%})",
                        "keep copies longer (a longer TTL) or give Redis more memory."))
        if result.source_peak >= self.max_source_peak:
            out.append(("source peak", f"{result.source_peak} reads/s (limit {self.max_source_peak})",
                        "spread expiries with TTL jitter, and move fewer keys when a shard is added "
                        "(consistent hashing, more shards)."))
        if result.memory_mb >= self.max_memory_mb:
            out.append(("memory", f"{result.memory_mb:.1f} MB (limit {self.max_memory_mb:g})",
                        "use fewer or smaller shards: each one also pays about 1 MB just to exist."))
        return out

    def met(self, result: BudgetResult) -> bool:
        return not self.misses(result)

    def describe(self) -> str:
        return (f"stale reads under {self.max_stale_fraction:.1%}, hit ratio over {self.min_hit_ratio:.0%}, "
                f"source peak under {self.max_source_peak} reads/s, memory under {self.max_memory_mb:g} MB")


    def misses_over(self, runs: "SeedRuns") -> list[tuple[str, str, str]]:
        """Like `misses`, over several workloads: the rates (stale reads, hit ratio) are judged on their
        mean, the peaks (source peak, memory) on the worst workload; both numbers are shown."""
        out = []
        stale, worst_stale = runs.mean("stale_fraction"), runs.worst("stale_fraction")
        if stale >= self.max_stale_fraction:
            out.append(("stale reads", f"mean {stale:.3%}, worst workload {worst_stale:.3%} "
                                       f"(limit {self.max_stale_fraction:.1%} on average)",
                        "tell the caches about writes (invalidation), and close the race and the outage gap "
                        "(versioned writes, a stream, or a short local-cache TTL)."))
        hit, worst_hit = runs.mean("hit_ratio"), runs.worst("hit_ratio")
        if hit <= self.min_hit_ratio:
            out.append(("hit ratio", f"mean {hit:.1%}, worst workload {worst_hit:.1%} "
                                     f"(needs over {self.min_hit_ratio:.0%} on average)",
                        "keep copies longer (a longer TTL) or give Redis more memory."))
        peak = runs.worst("source_peak")
        if peak >= self.max_source_peak:
            out.append(("source peak", f"{peak} reads/s on the worst workload, mean {runs.mean('source_peak'):.1f} "
                                       f"(limit {self.max_source_peak} on every workload)",
                        "spread expiries with TTL jitter, and move fewer keys when a shard is added "
                        "(consistent hashing, more shards)."))
        memory = runs.worst("memory_mb")
        if memory >= self.max_memory_mb:
            out.append(("memory", f"{memory:.1f} MB on the worst workload (limit {self.max_memory_mb:g})",
                        "use fewer or smaller shards: each one also pays about 1 MB just to exist."))
        return out


CAPSTONE_SLO = SLO()
ENERGY_BUDGET = 33.0   # energy units per second (mean over CAPSTONE_SEEDS) the capstone allows: a little
                       # above the cheapest configuration that meets CAPSTONE_SLO in a sweep (tests/test_budget.py)
CAPSTONE_SEEDS = (6, 0, 1, 2, 3, 4, 5, 7)   # the workloads the capstone is judged on; 6 is default_workload()


@lru_cache(maxsize=None)
def seeded_workload(seed: int) -> Workload:
    """`budget_workload(seed=seed)`, built once per process (seed 6 is `default_workload()`)."""
    number("seed", seed, whole=True)
    return default_workload() if seed == 6 else budget_workload(seed=seed)


@lru_cache(maxsize=2048)
def _cached_seed_run(config: BudgetConfig, seed: int) -> BudgetResult:
    return simulate_budget(config, seeded_workload(seed))


_HIGHER_IS_BETTER = {"hit_ratio"}


@dataclass(frozen=True)
class SeedRuns:
    """One configuration on several workloads (the same service, different days of traffic)."""

    config: BudgetConfig
    seeds: tuple[int, ...]
    results: tuple[BudgetResult, ...]

    def values(self, name: str) -> list[float]:
        return [r.energy() if name == "energy" else getattr(r, name) for r in self.results]

    def mean(self, name: str) -> float:
        """The mean of a measure (e.g. "stale_fraction", "energy") over the workloads."""
        values = self.values(name)
        return sum(values) / len(values)

    def worst(self, name: str) -> float:
        """The worst workload's value: the lowest hit ratio, the highest of anything else."""
        return (min if name in _HIGHER_IS_BETTER else max)(self.values(name))

    def energy_items(self, prices: dict[str, float] | None = None) -> dict[str, float]:
        """Energy per second by item (see BudgetResult.energy_items), averaged over the workloads."""
        items = [r.energy_items(prices) for r in self.results]
        return {name: sum(i[name] for i in items) / len(items) for name in items[0]}

    def worst_seed(self, name: str) -> int:
        values = self.values(name)
        return self.seeds[values.index(self.worst(name))]

    def row(self) -> list:
        """Disorder, performance, energy: mean (worst) over the workloads."""
        return [self.config.describe(),
                f"{self.mean('stale_fraction'):.2%} ({self.worst('stale_fraction'):.2%})",
                f"{self.mean('hit_ratio'):.1%} ({self.worst('hit_ratio'):.1%})",
                self.worst("source_peak"), f"{self.worst('memory_mb'):.1f}",
                f"{self.mean('energy'):.1f} ({self.worst('energy'):.1f})"]


SEED_ROW_HEADERS = ["configuration (model)", "stale reads: mean (worst)", "hit ratio: mean (worst)",
                    "source peak (/s, worst)", "memory (MB, worst)", "energy (model units/s): mean (worst)"]


def run_seeds(config: BudgetConfig, seeds: tuple[int, ...] = CAPSTONE_SEEDS) -> SeedRuns:
    """`config` on the workloads of `seeds` (default: the capstone's eight), each run remembered."""
    config = validate(config)
    seeds = tuple(seeds)
    if not seeds or not all(isinstance(s, int) and not isinstance(s, bool) for s in seeds):
        raise LabError(f"seeds={seeds!r}: give one or more whole numbers, e.g. (6, 0, 1).")
    return SeedRuns(config, seeds, tuple(_cached_seed_run(config, s) for s in seeds))


# ---------------------------------------------------------------- the same service on a real Redis

class RedisTier:
    """The shared Redis tier on a real redis-py client (fake or real server).

    Shards are logical (a key prefix per shard on one server), so the scale-out and its
    orphaned copies happen for real; the memory limit and eviction are the server's own.
    A copy is a JSON value {"v": version, "e": expires_at, "t": tombstone} and expires_at is
    checked on read (a soft TTL on the workload's clock: a real server cannot be made to
    live 120 s in one second). Versioned fills use WATCH/MULTI/EXEC.
    """

    def __init__(self, client: Any, ns: Any, config: BudgetConfig, workload: Workload) -> None:
        self.client, self.ns, self.config, self.sizes = client, ns, config, workload.sizes
        self.n_keys, self.names = workload.n_keys, workload.names
        self.shards = config.shards
        self.owner = owners(self.n_keys, self.shards, config.hashing)
        self.refused = self.moved = 0
        self.evicted_at_start = int(client.info("stats").get("evicted_keys", 0))

    def _key(self, key: int, shard: int | None = None) -> str:
        return self.ns.key(f"s{self.owner[key] if shard is None else shard}", self.names[key])

    def _value(self, key: int, version: int, expires: float, tombstone: bool) -> str:
        body = "" if tombstone else "x" * self.sizes[key]
        return json.dumps({"v": version, "e": None if expires == math.inf else expires,
                           "t": tombstone, "body": body}, separators=(",", ":"))

    @staticmethod
    def _entry(raw: str | None) -> list | None:
        if raw is None:
            return None
        data = json.loads(raw)
        expires = math.inf if data["e"] is None else data["e"]
        return [data["v"], expires, len(raw), 0.0, 5, data["t"]]

    def get(self, key: int, now: float) -> list | None:
        entry = self._entry(self.client.get(self._key(key)))
        if entry is not None and entry[1] <= now:
            self.client.delete(self._key(key))
            return None
        return entry

    def set(self, key: int, version: int, expires: float, now: float, tombstone: bool = False,
            if_newer: bool = False) -> bool:
        import redis as redis_py
        name, value = self._key(key), self._value(key, version, expires, tombstone)
        try:
            if not if_newer:
                self.client.set(name, value)
                return True
            with self.client.pipeline() as pipe:
                pipe.watch(name)
                old = self._entry(pipe.get(name))
                if old is not None and old[1] > now and old[0] > version:
                    pipe.unwatch()
                    return False
                pipe.multi()
                pipe.set(name, value)
                pipe.execute()
                return True
        except redis_py.exceptions.OutOfMemoryError:
            self.refused += 1
            return False

    def delete(self, key: int) -> None:
        self.client.delete(self._key(key))

    def add_shard(self) -> int:
        before = self.owner
        self.shards += 1
        self.owner = owners(self.n_keys, self.shards, self.config.hashing)
        moved = 0
        for key in range(self.n_keys):
            if before[key] != self.owner[key] and self.client.exists(self._key(key, before[key])):
                moved += 1
        self.moved += moved
        return moved

    def entries(self):
        """(shard, key, entry) for every stored copy, read with SCAN + MGET."""
        index = {name: k for k, name in enumerate(self.names)}
        for shard in range(self.shards):
            keys = sorted(self.client.scan_iter(match=self.ns.pattern(f"s{shard}:*"), count=1000))
            for name, raw in zip(keys, self.client.mget(keys) if keys else []):
                if raw is not None:
                    yield shard, index[self.ns.name(name).split(":", 1)[1]], self._entry(raw)

    @property
    def evictions(self) -> int:
        return int(self.client.info("stats").get("evicted_keys", 0)) - self.evicted_at_start

    def provisioned_mb(self) -> float:
        return self.shards * self.config.maxmemory_mb

    def close(self) -> None:
        pass


class RedisPubSub(NoChannel):
    """Invalidation over real PUBLISH/SUBSCRIBE: one subscriber connection per instance."""

    def __init__(self, client: Any, ns: Any, n_instances: int) -> None:
        from .backends import another_client
        super().__init__(n_instances)
        self.client, self.channel = client, ns.private("invalidate")  # per kernel: NUMSUB counts only ours
        self.subscribers = []
        for _ in range(n_instances):
            # confirmations are read and skipped by hand: with ignore_subscribe_messages=True a
            # confirmation still unread makes get_message return None, like "nothing heard"
            pubsub = another_client(client).pubsub()
            pubsub.subscribe(self.channel)
            self.subscribers.append(pubsub)
        self._wait_for_subscribers(n_instances)

    def _wait_for_subscribers(self, n: int) -> None:
        """Return once the server counts `n` subscribers (a PUBLISH before that would be lost)."""
        import time

        deadline = time.monotonic() + 5.0
        while time.monotonic() < deadline:
            for pubsub in self.subscribers:
                pubsub.get_message(timeout=0)   # read the subscribe confirmations
            if self.client.pubsub_numsub(self.channel)[0][1] == n:
                return
            time.sleep(0.001)
        raise LabError(f"The pub/sub subscribers did not register within 5 s on {self.channel}.")

    def publish(self, key: int, now: float) -> list[int]:
        receivers = self.client.publish(self.channel, str(key))
        self.round_trips += 1
        heard = [i for i, pubsub in enumerate(self.subscribers) if self.connected[i] and _hears(pubsub)]
        self.messages += 1 + receivers
        return heard

    def disconnect(self, instance: int) -> None:
        super().disconnect(instance)
        self.subscribers[instance].unsubscribe(self.channel)
        self._wait_for_subscribers(sum(self.connected))

    def reconnect(self, instance: int) -> list[int]:
        self.connected[instance] = True
        self.subscribers[instance].subscribe(self.channel)
        self._wait_for_subscribers(sum(self.connected))
        return []

    def close(self) -> None:
        for pubsub in self.subscribers:
            pubsub.close()


def _hears(pubsub: Any, timeout: float = 2.0) -> bool:
    """Whether a message arrives on `pubsub` within `timeout` s, skipping (un)subscribe confirmations."""
    import time

    deadline = time.monotonic() + timeout
    while (left := deadline - time.monotonic()) > 0:
        message = pubsub.get_message(timeout=left)
        if message is not None and message["type"] == "message":
            return True
    return False


def replay_on_redis(client: Any, ns: Any, config: BudgetConfig, workload: Workload | None = None) -> BudgetResult:
    """Run the service with its shared tier (and pub/sub) on `client`'s server.

    The local caches, the truth and the workload are the model's; every Redis command is
    real. Supports invalidation "none" and "pubsub".
    """
    config = validate(config)
    if config.invalidation == "stream":
        raise LabError("replay_on_redis runs invalidation 'none' or 'pubsub'; the stream is modelled only.")
    w = default_workload() if workload is None else workload
    tier = RedisTier(client, ns, config, w)
    channel = RedisPubSub(client, ns, w.n_instances) if config.invalidation == "pubsub" else NoChannel(w.n_instances)
    try:
        result = simulate_budget(config, w, tier=tier, channel=channel)
    finally:
        channel.close()
    result.evictions = tier.evictions
    return result


def compare(model: BudgetResult, real: BudgetResult) -> list[list]:
    """Rows (measure, model, real Redis) for the one-point check."""
    if not (isinstance(model, BudgetResult) and isinstance(real, BudgetResult)):
        raise LabError("compare takes two results: simulate_budget(...) and replay_on_redis(...).")
    return [[name, getattr(model, attr) if not callable(getattr(model, attr)) else getattr(model, attr)(),
             getattr(real, attr) if not callable(getattr(real, attr)) else getattr(real, attr)()]
            for name, attr in [("hit ratio", "hit_ratio"), ("stale reads", "stale_fraction"),
                               ("worst staleness (s)", "worst_staleness"), ("source reads", "source_reads"),
                               ("source peak (/s)", "source_peak"), ("round trips", "round_trips"),
                               ("invalidation messages", "messages"), ("keys moved", "keys_moved"),
                               ("evictions", "evictions")]]


# ---------------------------------------------------------------- the eviction stand-in against the twin

class _RecordingRedis(ModelRedis):
    """ModelRedis that remembers every read that reached it (time, key)."""

    def __init__(self, config: BudgetConfig, workload: Workload, seed: int = 0) -> None:
        super().__init__(config, workload, seed)
        self.log: list[tuple[float, int]] = []

    def get(self, key: int, now: float) -> list | None:
        self.log.append((now, key))
        return super().get(key, now)


def redis_read_trace(config: BudgetConfig, workload: Workload | None = None) -> tuple[list[float], list[int]]:
    """(times, keys) of every read that reached the shared Redis in a model run of `config`."""
    w = default_workload() if workload is None else workload
    tier = _RecordingRedis(validate(config), w)
    simulate_budget(config, w, tier=tier)
    return [t for t, _ in tier.log], [k for _, k in tier.log]


def eviction_standin_vs_twin(config: BudgetConfig, workload: Workload | None = None) -> tuple[float, float]:
    """Hit ratio of one shard on the Redis read trace of `config`, cache-aside, starting empty:
    (the model's eviction stand-in, the twin's model of Redis 7 eviction)."""
    import numpy as np

    from .twin import simulate

    config = replace(validate(config), shards=1, ttl=None)
    w = default_workload() if workload is None else workload
    times, keys = redis_read_trace(config, w)
    standin = ModelRedis(config, w)
    hits = 0
    for now, key in zip(times, keys):
        if standin.get(key, now) is not None:
            hits += 1
        else:
            standin.set(key, 1, math.inf, now)
    twin = simulate(np.asarray(keys, dtype=np.int64), policy=config.policy, maxmemory=int(config.maxmemory_mb * MB),
                    timestamps=np.asarray(times), value_size=np.asarray(w.sizes), key_length=16)
    return hits / len(keys), twin.hit_ratio


# ---------------------------------------------------------------- write strategies and keying, measured on a client
#
# Two more sources of entropy the article names: the write path (cache-aside, write-through,
# write-behind) and "duplicated data" from poor keying. Both run on a real redis-py client
# (the twin in fake mode), on the stream's own clock, like notebook 00.

WRITE_STRATEGIES = ("cache-aside, no invalidation", "cache-aside + DEL on write", "write-through", "write-behind")


@dataclass
class WriteStrategyResult:
    """One write strategy on one read/write stream."""

    strategy: str
    reads: int
    stale_reads: int
    writes: int
    redis_round_trips: int         # Redis commands sent by writes
    database_reads: int            # cache misses that read the source of truth
    unread_copies: int             # copies a write SET that were replaced or left unread (a wasted SET)
    database_writes: int           # writes that reached the source of truth
    most_unsaved: int              # most acknowledged writes held only in the cache tier at one moment
    longest_unsaved: float         # s: the longest an acknowledged write waited for the database

    @property
    def stale_fraction(self) -> float:
        return self.stale_reads / self.reads if self.reads else 0.0

    def row(self) -> list:
        return [self.strategy, f"{self.stale_fraction:.1%}", self.database_reads,
                f"{self.redis_round_trips / max(1, self.writes):.0f}", self.unread_copies, self.database_writes,
                self.most_unsaved, self.longest_unsaved]


WRITE_HEADERS = ["write strategy", "stale reads", "database reads", "Redis commands per write",
                 "copies SET but never read", "database writes", "most writes not yet in the database",
                 "longest wait for the database (s)"]


def write_strategies(client: Any, ns: Any, n_keys: int = 50, seconds: float = 20.0, rate: float = 50.0,
                     write_share: float = 0.2, flush_every: float = 5.0, seed: int = 3) -> list[WriteStrategyResult]:
    """Replay one seeded stream through each of WRITE_STRATEGIES on `client` (keys under `ns`).

    cache-aside: reads fill the cache on a miss; writes go to the database only, or also DEL the copy.
    write-through: every write goes to the database and SETs the new copy. write-behind: every write
    SETs the new copy and joins a queue; the queue is written to the database every `flush_every` s
    (repeated writes to one key coalesce into one database write). Nothing here runs concurrently, so
    the races of notebook 02 do not appear.
    """
    from .decay import payload, request_stream
    from .truth import Record, decode, encode

    number("n_keys", n_keys, low=1, whole=True)
    number("seconds", seconds, above=0)
    number("rate", rate, above=0)
    number("flush_every", flush_every, above=0)
    number("write_share", write_share, low=0, high=1)
    stream = request_stream(n_keys=int(n_keys), seconds=seconds, rate=rate, write_share=write_share, seed=seed)
    results = []
    for strategy in WRITE_STRATEGIES:
        truth = SourceOfTruth()
        names = sorted({req.key for req in stream})
        for name in names:
            truth.write(name, payload(name, 1), 0.0)
        seeded = truth.writes
        latest = {name: 1 for name in names}           # the newest acknowledged version of each key
        queue: dict[str, tuple[int, float]] = {}       # write-behind: key -> (version, first queued at)
        unsaved = most_unsaved = reads = stale = writes = trips = unread = 0
        fresh_set: set[str] = set()                    # keys whose copy a write SET and nobody read yet
        longest = 0.0
        next_flush = flush_every
        key = lambda name: ns.key("writes", name)

        def flush(now: float) -> None:
            nonlocal unsaved, longest
            for name, (version, since) in sorted(queue.items()):
                truth.write(name, payload(name, version), now)
                longest = max(longest, now - since)
            queue.clear()
            unsaved = 0

        for req in stream:
            while strategy == "write-behind" and req.at >= next_flush:
                flush(next_flush)
                next_flush += flush_every
            if req.op == "read":
                reads += 1
                cached = client.get(key(req.key))
                if cached is None:
                    record = truth.read(req.key)
                    client.set(key(req.key), encode(record))
                    served = record.version if strategy != "write-behind" else latest[req.key]
                else:
                    served = decode(cached)[0]
                fresh_set.discard(req.key)
                stale += served < latest[req.key]
                continue
            writes += 1
            latest[req.key] += 1
            version = latest[req.key]
            if strategy == "write-behind":
                client.set(key(req.key), encode(Record(req.key, payload(req.key, version), version, req.at)))
                trips += 1
                unread += req.key in fresh_set
                fresh_set.add(req.key)
                queue[req.key] = (version, queue.get(req.key, (0, req.at))[1])
                unsaved += 1
                most_unsaved = max(most_unsaved, unsaved)
                continue
            record = truth.write(req.key, payload(req.key, version), req.at)
            if strategy == "cache-aside + DEL on write":
                client.delete(key(req.key))
                trips += 1
            elif strategy == "write-through":
                client.set(key(req.key), encode(record))
                trips += 1
                unread += req.key in fresh_set
                fresh_set.add(req.key)
        if strategy == "write-behind":
            flush(max(next_flush, stream[-1].at if stream else 0.0))
        for name in names:
            client.delete(key(name))
        results.append(WriteStrategyResult(strategy, reads, stale, writes, trips, truth.reads, unread + len(fresh_set),
                                           truth.writes - seeded, most_unsaved, round(longest, 3)))
    return results


@dataclass
class KeyingResult:
    """One key layout for records that are looked up two ways (by id and by email)."""

    layout: str
    keys: int
    memory_bytes: int              # MEMORY USAGE summed over the layout's keys
    stale_by_email: int            # lookups by email that returned an outdated profile
    lookups_by_email: int
    round_trips_by_email: int      # Redis commands per lookup by email

    def row(self) -> list:
        return [self.layout, self.keys, self.memory_bytes, f"{self.stale_by_email} of {self.lookups_by_email}",
                self.round_trips_by_email]


KEYING_HEADERS = ["key layout", "keys", "memory (bytes, MEMORY USAGE)", "stale lookups by email",
                  "Redis commands per lookup by email"]


def duplicate_keys(client: Any, ns: Any, n_users: int = 100, updates: int = 20, seed: int = 5) -> list[KeyingResult]:
    """Cache `n_users` profiles that are read by id and by email; update `updates` of them.

    "two copies": the profile is cached under user:<id> AND user:email:<email> (the poor keying the
    article calls duplicated data); an update deletes user:<id>, the key the invalidation code knows.
    "one copy + pointer": user:email:<email> holds only the id; a lookup by email is two GETs.
    """
    number("n_users", n_users, low=1, whole=True)
    number("updates", updates, low=0, high=n_users, whole=True)
    n_users, updates = int(n_users), int(updates)
    rng = random.Random(seed)
    users = list(range(int(n_users)))
    changed = set(rng.sample(users, updates))
    email = lambda u: f"user{u}@example.com"
    profile = lambda u, v: json.dumps({"id": u, "email": email(u), "version": v, "bio": "x" * 400})
    results = []
    for layout in ("two copies", "one copy + pointer"):
        by_id = lambda u: ns.key("keying", "user", u)
        by_email = lambda u: ns.key("keying", "user", "email", email(u))
        for u in users:
            client.set(by_id(u), profile(u, 1))
            client.set(by_email(u), profile(u, 1) if layout == "two copies" else str(u))
        keys = [k for u in users for k in (by_id(u), by_email(u))]
        memory = sum(client.memory_usage(k) or 0 for k in keys)
        for u in changed:                      # the database now holds version 2; invalidate by id
            client.delete(by_id(u))
        stale = trips = 0
        for u in users:
            raw = client.get(by_email(u))
            trips += 1
            if layout == "one copy + pointer":
                raw = client.get(by_id(int(raw)))
                trips += 1
            if raw is None:                    # a miss: read the database, fill the cache by id
                client.set(by_id(u), profile(u, 2 if u in changed else 1))
                trips += 1
                continue
            stale += json.loads(raw)["version"] < (2 if u in changed else 1)
        client.delete(*keys)
        results.append(KeyingResult(layout, len(keys), memory, stale, len(users), round(trips / len(users), 2)))
    return results
