"""The knobs of the budget service (`BudgetConfig`), their legal values, and the model's constants.

One frozen, hashable dataclass holds every defence of the series, so a run can be remembered
by its configuration and a learner changes one knob with `dataclasses.replace`.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..arguments import is_number
from ..errors import LabError

MB = 1024 * 1024
SOURCE_LATENCY = 0.05      # seconds between a miss reading the truth and its cache fill
BASELINE_BYTES = 1 * MB    # used_memory of an empty Redis (FACTS: "about 1 MB")
KEY_OVERHEAD = 100         # bytes per key beyond the value (dict entry, robj, sds headers)
TOMBSTONE_BYTES = 40       # a versioned delete leaves the version behind, no value
STREAM_ENTRY_BYTES = 120   # one invalidation entry in a stream (XADD MAXLEN ~ STREAM_MAXLEN)
STREAM_MAXLEN = 1000
SAMPLES = 5                # keys sampled per eviction (maxmemory-samples)
SAMPLE_EVERY = 10.0        # seconds between memory samples (local caches sweep expired entries then)

# The policies the model's eviction stand-in implements (a subset of Redis's eight).
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
    _check_times(config)
    _check_choices(config)
    _check_memory(config)
    return config


def _check_times(config: BudgetConfig) -> None:
    """The TTL knobs: seconds, where None (never expires) and 0 (no local cache) mean something."""
    if config.ttl is not None and not (is_number(config.ttl) and config.ttl > 0):
        raise LabError(f"ttl={config.ttl!r}: use a number of seconds above 0, or None for no TTL.")
    if not (is_number(config.jitter) and 0 <= config.jitter < 1):
        raise LabError(f"jitter={config.jitter!r}: use a fraction from 0 up to (not including) 1, e.g. 0.1 for ±10%.")
    if config.l1_ttl is not None and not (is_number(config.l1_ttl) and config.l1_ttl >= 0):
        raise LabError(f"l1_ttl={config.l1_ttl!r}: use seconds (0 turns the local cache off) or None.")


def _check_choices(config: BudgetConfig) -> None:
    """The knobs that pick one of a few named behaviours."""
    if not isinstance(config.versioned, bool):
        raise LabError(f"versioned={config.versioned!r}: use True or False.")
    for name, allowed in (("invalidation", CHANNELS), ("policy", POLICIES), ("hashing", HASHINGS)):
        value = getattr(config, name)
        if value not in allowed:
            raise LabError(f"{name}={value!r}: choose one of {', '.join(allowed)}.")


def _check_memory(config: BudgetConfig) -> None:
    """Shards and their size: each shard must hold more than an empty Redis already uses."""
    if not (isinstance(config.shards, int) and not isinstance(config.shards, bool) and 1 <= config.shards <= 16):
        raise LabError(f"shards={config.shards!r}: use a whole number from 1 to 16.")
    if not is_number(config.maxmemory_mb):
        raise LabError(f"maxmemory_mb={config.maxmemory_mb!r}: use a number of megabytes per shard, e.g. 2.")
    if config.maxmemory_mb * MB <= BASELINE_BYTES:
        raise LabError(f"maxmemory_mb={config.maxmemory_mb!r}: an empty Redis already uses about "
                       f"{BASELINE_BYTES / MB:g} MB, so give each shard more than that (e.g. 2).")
