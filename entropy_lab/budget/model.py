"""The shared Redis tier as a model: shards with a memory limit, an eviction stand-in, key placement.

A model, not a server: a sweep of dozens of configurations must run in seconds, so each shard
is a dict plus a list for O(1) random sampling. Eviction samples `SAMPLES` keys and evicts the
worst (no 16-entry pool); `eviction_standin_vs_twin` measures how far that is from the twin's
model of Redis 7.
"""
from __future__ import annotations

import hashlib
import random
from collections.abc import Iterator
from functools import lru_cache

from ..arguments import number
from ..errors import LabError
from ..twin.lrulfu import LFU_INIT_VAL, lfu_log_incr
from .config import BASELINE_BYTES, HASHINGS, KEY_OVERHEAD, MB, SAMPLES, TOMBSTONE_BYTES, BudgetConfig
from .workload import Workload

LFU_LOG_FACTOR = 10        # Redis's default lfu-log-factor
# An entry: [version, expires_at, bytes, last_access, lfu_counter, tombstone] (a list: updated in place).
VERSION, EXPIRES, BYTES, LAST_ACCESS, LFU, TOMBSTONE = range(6)


@lru_cache(maxsize=64)
def owners(n_keys: int, shards: int, hashing: str) -> tuple[int, ...]:
    """The shard of every key: rendezvous (highest random weight) or modulo, on sha1."""
    number("n_keys", n_keys, low=1, whole=True)
    number("shards", shards, low=1, whole=True)
    if hashing not in HASHINGS:
        raise LabError(f"hashing={hashing!r}: choose one of {', '.join(HASHINGS)}.")
    if hashing == "modulo":
        return tuple(_hash(f"item:{k}") % shards for k in range(n_keys))
    return tuple(max(range(shards), key=lambda s: _hash(f"item:{k}@shard{s}")) for k in range(n_keys))


def _hash(text: str) -> int:
    """A stable 64-bit hash (Python's hash() of a str changes between processes)."""
    return int.from_bytes(hashlib.sha1(text.encode()).digest()[:8], "big")


def entry_bytes(size: int) -> int:
    """Memory one cached copy of a `size`-byte value costs in Redis (the model's estimate)."""
    number("size", size, low=0, whole=True)
    return size + KEY_OVERHEAD


@lru_cache(maxsize=16)
def entry_sizes(sizes: tuple[int, ...]) -> tuple[int, ...]:
    """`entry_bytes` of every value size of a workload, worked out once per workload, not once per run."""
    return tuple(entry_bytes(size) for size in sizes)


class ModelRedis:
    """The shared Redis tier as a model: shards with a memory limit and an eviction policy.

    Expired entries are reclaimed when read or when eviction samples them. Eviction is a
    stand-in: sample `SAMPLES` keys of the full shard, evict the worst (LRU: oldest access on
    a 1 s clock; LFU: lowest Redis-style log counter; random).
    """

    def __init__(self, config: BudgetConfig, workload: Workload, seed: int = 0) -> None:
        self.config, self.sizes, self.rng = config, workload.sizes, random.Random(seed)
        self.capacity = int(config.maxmemory_mb * MB) - BASELINE_BYTES
        self.n_keys = workload.n_keys
        self.bytes = entry_sizes(workload.sizes)
        self.tables: list[dict[int, list]] = []     # per shard: key -> entry
        self.lists: list[list[int]] = []            # per shard: its keys, for O(1) random samples
        self.pos: list[dict[int, int]] = []         # per shard: key -> index in its list
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
        self._grow(self.shards + 1)
        moved = sum(1 for s, table in enumerate(self.tables) for k in table if self.owner[k] != s)
        self.moved += moved
        return moved

    def get(self, key: int, now: float) -> list | None:
        """The live entry of `key` (a tombstone too), touched like a read; None if absent or expired."""
        shard = self.owner[key]
        entry = self.tables[shard].get(key)
        if entry is None:
            return None
        if entry[EXPIRES] <= now:
            self._remove(shard, key)
            return None
        entry[LAST_ACCESS] = now
        if self.config.policy == "allkeys-lfu":
            entry[LFU] = lfu_log_incr(entry[LFU], LFU_LOG_FACTOR, self.rng.random())
        return entry

    def peek(self, key: int) -> list | None:
        return self.tables[self.owner[key]].get(key)

    def set(self, key: int, version: int, expires: float, now: float, tombstone: bool = False,
            if_newer: bool = False) -> bool:
        """Store a copy (or a tombstone); False if refused (OOM, or an older version under `if_newer`)."""
        shard = self.owner[key]
        table = self.tables[shard]
        old = table.get(key)
        if if_newer and is_newer(old, version, now):
            return False
        size = TOMBSTONE_BYTES if tombstone else self.bytes[key]
        if old is not None:
            self.used[shard] -= old[BYTES]
        elif self.used[shard] + size > self.capacity and not self._make_room(shard, size, now):
            self.refused += 1
            return False
        if old is None:
            self.pos[shard][key] = len(self.lists[shard])
            self.lists[shard].append(key)
        table[key] = new_entry(version, expires, size, now, tombstone)
        self.used[shard] += size
        return True

    def delete(self, key: int) -> None:
        shard = self.owner[key]
        if key in self.tables[shard]:
            self._remove(shard, key)

    def _remove(self, shard: int, key: int) -> None:
        """Drop `key` in O(1): the list's last key takes its slot."""
        entry = self.tables[shard].pop(key)
        self.used[shard] -= entry[BYTES]
        keys, pos = self.lists[shard], self.pos[shard]
        i = pos.pop(key)
        last = keys.pop()
        if last != key:
            keys[i] = last
            pos[last] = i

    def _make_room(self, shard: int, size: int, now: float) -> bool:
        """Evict until `size` more bytes fit; False when the policy may not evict (an OOM refusal)."""
        policy = self.config.policy
        if policy == "noeviction" or (policy == "volatile-lru" and self.config.ttl is None):
            return False  # volatile-* with no TTL on any key has no candidate: OOM, like noeviction
        while self.used[shard] + size > self.capacity and self.lists[shard]:
            self._remove(shard, self._victim(shard, now))
            self.evictions += 1
        return self.used[shard] + size <= self.capacity

    def _victim(self, shard: int, now: float) -> int:
        """The key eviction picks: random, or the worst of SAMPLES sampled keys (an expired one first)."""
        table, keys, random_ = self.tables[shard], self.lists[shard], self.rng.random
        n = len(keys)
        if self.config.policy == "allkeys-random":
            return keys[int(random_() * n)]
        sampled = [keys[int(random_() * n)] for _ in range(SAMPLES)]
        expired = [k for k in sampled if table[k][EXPIRES] <= now]
        if expired:
            return expired[0]
        if self.config.policy == "allkeys-lfu":
            return min(sampled, key=lambda k: _lfu_decayed(table[k], now))
        return min(sampled, key=lambda k: int(table[k][LAST_ACCESS]))

    def entries(self) -> Iterator[tuple[int, int, list]]:
        """(shard, key, entry) for every stored entry (for measuring waste)."""
        for shard, table in enumerate(self.tables):
            for key, entry in table.items():
                yield shard, key, entry

    def provisioned_mb(self) -> float:
        return self.shards * self.config.maxmemory_mb

    def close(self) -> None:
        pass


def new_entry(version: int, expires: float, size: int, now: float, tombstone: bool) -> list:
    """A fresh entry (see VERSION...TOMBSTONE); its LFU counter starts where Redis's does."""
    return [version, expires, size, now, LFU_INIT_VAL, tombstone]


def is_newer(entry: list | None, version: int, now: float) -> bool:
    """Whether `entry` is a live copy of a newer version than `version` (a versioned fill must not replace it)."""
    return entry is not None and entry[EXPIRES] > now and entry[VERSION] > version


def _lfu_decayed(entry: list, now: float) -> int:
    """The counter minus one per whole minute since the last access (lfu-decay-time 1).

    Elapsed minutes, not the twin's minute-clock stamps: the model keeps float access times.
    """
    return max(0, entry[LFU] - int((now - entry[LAST_ACCESS]) // 60))
