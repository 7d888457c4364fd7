"""The shared Redis tier on a real redis-py client (the twin in fake mode, or a server).

It answers the simulation exactly as `ModelRedis` does (same entries, same refusals), so the
model can be checked against a real server on one point of the frontier (`replay_on_redis`).
"""
from __future__ import annotations

import json
import math
from collections.abc import Iterator
from typing import Any

import redis

from ..transactions import compare_and_set
from .config import BudgetConfig
from .model import EXPIRES, is_newer, new_entry, owners
from .workload import Workload


class RedisTier:
    """The shared Redis tier on a real redis-py client (fake or real server).

    Shards are logical (a key prefix per shard on one server), so the scale-out and its
    orphaned copies happen for real; the memory limit and eviction are the server's own.
    A copy is a JSON value {"v": version, "e": expires_at, "t": tombstone} and expires_at is
    checked on read (a soft TTL on the workload's clock: a real server cannot be made to
    live 120 s in one second). Versioned fills use WATCH/MULTI/EXEC (`compare_and_set`).
    """

    def __init__(self, client: Any, ns: Any, config: BudgetConfig, workload: Workload) -> None:
        self.client, self.ns, self.config, self.sizes = client, ns, config, workload.sizes
        self.n_keys, self.names = workload.n_keys, workload.names
        self.shards = config.shards
        self.owner = owners(self.n_keys, self.shards, config.hashing)
        self.refused = self.moved = 0
        self.evicted_at_start = self._evicted_keys()

    def _key(self, key: int, shard: int | None = None) -> str:
        return self.ns.key(f"s{self.owner[key] if shard is None else shard}", self.names[key])

    def _value(self, key: int, version: int, expires: float, tombstone: bool) -> str:
        body = "" if tombstone else "x" * self.sizes[key]
        return json.dumps({"v": version, "e": None if expires == math.inf else expires,
                           "t": tombstone, "body": body}, separators=(",", ":"))

    def _evicted_keys(self) -> int:
        return int(self.client.info("stats").get("evicted_keys", 0))

    def get(self, key: int, now: float) -> list | None:
        entry = _entry(self.client.get(self._key(key)))
        if entry is not None and entry[EXPIRES] <= now:
            self.client.delete(self._key(key))
            return None
        return entry

    def set(self, key: int, version: int, expires: float, now: float, tombstone: bool = False,
            if_newer: bool = False) -> bool:
        """SET the copy; with `if_newer`, only over a missing, expired or older one. False if refused."""
        name, value = self._key(key), self._value(key, version, expires, tombstone)
        try:
            if not if_newer:
                self.client.set(name, value)
                return True
            return compare_and_set(self.client, name, value, lambda raw: not is_newer(_entry(raw), version, now))
        except redis.exceptions.OutOfMemoryError:
            self.refused += 1
            return False

    def delete(self, key: int) -> None:
        self.client.delete(self._key(key))

    def add_shard(self) -> int:
        """Scale out by one shard; counts the copies left behind under their old shard's prefix."""
        before = self.owner
        self.shards += 1
        self.owner = owners(self.n_keys, self.shards, self.config.hashing)
        moved = sum(1 for key in range(self.n_keys)
                    if before[key] != self.owner[key] and self.client.exists(self._key(key, before[key])))
        self.moved += moved
        return moved

    def entries(self) -> Iterator[tuple[int, int, list]]:
        """(shard, key, entry) for every stored copy, read with SCAN + MGET."""
        index = {name: k for k, name in enumerate(self.names)}
        for shard in range(self.shards):
            keys = sorted(self.client.scan_iter(match=self.ns.pattern(f"s{shard}:*"), count=1000))
            for name, raw in zip(keys, self.client.mget(keys) if keys else []):
                if raw is not None:
                    yield shard, index[self.ns.name(name).split(":", 1)[1]], _entry(raw)

    @property
    def evictions(self) -> int:
        return self._evicted_keys() - self.evicted_at_start

    def provisioned_mb(self) -> float:
        return self.shards * self.config.maxmemory_mb

    def close(self) -> None:
        pass


def _entry(raw: str | bytes | None) -> list | None:
    """A stored copy as the model's entry list (its size is the JSON's length), or None."""
    if raw is None:
        return None
    data = json.loads(raw)
    expires = math.inf if data["e"] is None else data["e"]
    return new_entry(data["v"], expires, len(raw), 0.0, data["t"])

