"""Approximated LRU: which keys survive when Redis samples its victims (the Redis docs' chart)."""
from __future__ import annotations

from dataclasses import dataclass

import redis

from ..errors import LabError
from .fill import exists_many, key_name, touch_in_order, value_of
from .owned import configure, info_int, wait
from .inputs import MAX_KEYS, check_count, check_number


@dataclass
class SurvivalResult:
    """The approximated-LRU experiment: keys in the order they were last touched."""

    samples: int
    groups: int
    survived: list[bool]          # the original keys, oldest touch first
    group_of: list[int]           # which touch group each original key was in
    new_keys: int
    new_survived: int
    evicted: int

    @property
    def n(self) -> int:
        return len(self.survived)

    @property
    def older_half_survived(self) -> float:
        """Share of the older half (by touch order) still present: 0 for exact LRU."""
        half = self.survived[: self.n // 2]
        return sum(half) / len(half) if half else 0.0

    @property
    def newer_half_evicted(self) -> float:
        """Share of the newer half that was evicted: 0 for exact LRU."""
        half = self.survived[self.n // 2:]
        return 1 - sum(half) / len(half) if half else 0.0

    def survived_by_group(self) -> list[float]:
        """Share of each touch group that survived."""
        shares = []
        for g in range(self.groups):
            members = [s for s, k in zip(self.survived, self.group_of) if k == g]
            shares.append(sum(members) / len(members) if members else 0.0)
        return shares


def exact_lru_survivors(n_keys: int, evicted: int) -> list[bool]:
    """Exact LRU (ms-precise stamps, no sampling) evicts strictly oldest first: the reference."""
    n_keys = check_count("n_keys", n_keys, 0, MAX_KEYS)
    evicted = check_count("evicted", evicted, 0, n_keys)
    return [i >= evicted for i in range(n_keys)]


def fill_until_eviction(client: redis.Redis, value_size: int = 1024, batch: int = 25,
                        prefix: str = "old", limit: int = 200_000) -> list[str]:
    """SET keys in small pipelines until the server first evicts; the keys left, oldest first."""
    written: list[str] = []
    while len(written) < limit:
        pipe = client.pipeline(transaction=False)
        names = [key_name(prefix, len(written) + i) for i in range(batch)]
        for i, name in enumerate(names):
            pipe.set(name, value_of(value_size, len(written) + i))
        pipe.execute()
        written += names
        if info_int(client, "evicted_keys"):
            break
    else:
        raise LabError("The server never evicted: give the sandbox a maxmemory, e.g. maxmemory='2mb'.")
    present = exists_many(client, written)
    return [name for name, ok in zip(written, present) if ok]


def lru_survival(client: redis.Redis, samples: int = 5, groups: int = 4, gap_s: float = 1.1,
                 value_size: int = 1024, batch: int = 10) -> SurvivalResult:
    """Redis's approximated-LRU experiment (utils/lru/test-lru.rb) on a lab-owned server.

    allkeys-lru with `samples`: fill until the first eviction, touch the keys in order in
    `groups` groups `gap_s` apart (a stock Redis's LRU clock ticks once a second, so keys
    touched within one second look equally old), wait `gap_s`, then add new keys until the
    server has evicted as many keys as half the original ones. Which originals survived?
    In fake mode the waits are instant; against a real server they take about
    `groups * gap_s` seconds.
    """
    samples, groups = check_count("samples", samples, 1, 64), check_count("groups", groups, 2)
    value_size, batch = check_count("value_size", value_size, 1), check_count("batch", batch, 1)
    gap_s = check_number("gap_s", gap_s)
    if gap_s <= 1.0:
        raise LabError(f"gap_s={gap_s} is too short: Redis's LRU clock ticks once a second, so "
                       "touch groups less than 1 s apart look equally old. Use 1.1 s or more.")
    maxmemory = client.config_get("maxmemory")["maxmemory"]
    configure(client, maxmemory_policy="allkeys-lru", maxmemory_samples=samples)
    if maxmemory == "0":
        raise LabError("lru_survival needs a memory limit: open the sandbox with maxmemory='2mb'.")
    old = fill_until_eviction(client, value_size)
    n = len(old)
    base = info_int(client, "evicted_keys")
    group_of = [i * groups // n for i in range(n)]
    for g in range(groups):
        if g:
            wait(client, gap_s)
        touch_in_order(client, [name for name, k in zip(old, group_of) if k == g])
    wait(client, gap_s)
    target, added = n // 2, 0
    while info_int(client, "evicted_keys") - base < target:
        pipe = client.pipeline(transaction=False)
        for i in range(added, added + batch):
            pipe.set(key_name("new", i), value_of(value_size, i))
        pipe.execute()
        added += batch
    evicted = info_int(client, "evicted_keys") - base
    survived = exists_many(client, old)
    new_survived = sum(exists_many(client, [key_name("new", i) for i in range(added)]))
    return SurvivalResult(samples, groups, survived, group_of, added, new_survived, evicted)
