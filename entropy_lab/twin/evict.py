"""Eviction as Redis 7.0's evict.c does it (performEvictions / evictionPoolPopulate).

Before a command, while used_memory > maxmemory, pick and delete a victim:
- LRU / LFU / volatile-ttl: each round samples `maxmemory-samples` keys from every database
  that has candidates (the whole keyspace for allkeys-*, keys with a TTL for volatile-*) into a
  16-entry pool kept sorted by score (idle seconds; 255 - decayed LFU counter; nearest
  deadline). A sample that is not better than the worst entry of a full pool is dropped; the
  victim is the best entry whose key still exists (pool scores are never recomputed).
- random policies: one uniformly random key, visiting databases round-robin.
- noeviction, or no candidate: fail, and the server refuses write commands with OOM.
Sampling is uniform here; Redis walks consecutive hash buckets from a random start.
"""
from __future__ import annotations

from bisect import bisect_left
from typing import Any

from .keyspace import Keyspace
from .lrulfu import LRU_CLOCK_MAX, lfu_decr_and_return, lfu_minutes, lru_clock

EVPOOL_SIZE = 16
OOM_MESSAGE = "OOM command not allowed when used memory > 'maxmemory'."


class EvictionPool:
    """evictionPoolLRU: parallel lists, ascending score; the best candidate is last."""

    __slots__ = ("scores", "entries")

    def __init__(self) -> None:
        self.scores: list[float] = []
        self.entries: list[tuple[int, Any]] = []

    def __len__(self) -> int:
        return len(self.scores)

    def insert(self, score: float, dbid: int, key: Any) -> None:
        """The insertion rule of evictionPoolPopulate."""
        scores = self.scores
        k = bisect_left(scores, score)
        if len(scores) < EVPOOL_SIZE:
            scores.insert(k, score)
            self.entries.insert(k, (dbid, key))
        elif k:
            # full: drop the worst (leftmost) entry, insert at k - 1
            del scores[0]
            del self.entries[0]
            scores.insert(k - 1, score)
            self.entries.insert(k - 1, (dbid, key))


def populate(ks: Keyspace, pool: EvictionPool, dbid: int, now: float) -> None:
    """Sample `maxmemory-samples` candidates of one database into the pool
    (evictionPoolPopulate; the insertion rule of EvictionPool.insert, inlined for speed)."""
    cfg = ks.config
    db = ks.dbs[dbid]
    allkeys = cfg.allkeys
    source = db.keys if allkeys else db.vkeys
    n = len(source)
    count = cfg.samples
    kind = cfg.kind
    scores, entries = pool.scores, pool.entries
    stamp, pos = db.stamp, db.pos
    if kind == "lru" and allkeys and n > count:
        # the common case, specialised: sample positions straight into their stamps
        clock = int(now) & LRU_CLOCK_MAX  # lru_clock(now)
        rnd = ks.random
        for _ in range(count):
            i = int(rnd() * n)
            s = stamp[i]
            score = clock - s if clock >= s else clock + (LRU_CLOCK_MAX - s)
            if len(scores) < EVPOOL_SIZE:
                k = bisect_left(scores, score)
                scores.insert(k, score)
                entries.insert(k, (dbid, source[i]))
            elif score > scores[0]:
                k = bisect_left(scores, score) - 1
                del scores[0]
                del entries[0]
                scores.insert(k, score)
                entries.insert(k, (dbid, source[i]))
        return
    if n <= count:
        picks: Any = range(n)
    else:
        rnd = ks.random
        picks = [int(rnd() * n) for _ in range(count)]
    if kind == "lru":
        clock = int(now) & LRU_CLOCK_MAX
    elif kind == "lfu":
        minutes = lfu_minutes(now)
        decay = cfg.lfu_decay_time
    else:
        expire = db.expire
    for i in picks:
        key = source[i]
        if kind == "lru":
            s = stamp[i] if allkeys else stamp[pos[key]]
            score = clock - s if clock >= s else clock + (LRU_CLOCK_MAX - s)
        elif kind == "lfu":
            score = 255 - lfu_decr_and_return(stamp[i] if allkeys else stamp[pos[key]], minutes, decay)
        else:
            score = -expire[key]
        if len(scores) < EVPOOL_SIZE:
            k = bisect_left(scores, score)
            scores.insert(k, score)
            entries.insert(k, (dbid, key))
        elif score > scores[0]:  # else: not better than the worst entry of a full pool
            k = bisect_left(scores, score)
            del scores[0]
            del entries[0]
            scores.insert(k - 1, score)
            entries.insert(k - 1, (dbid, key))


def select_victim(ks: Keyspace, now: float) -> tuple[int, Any] | None:
    """The (dbid, key) Redis would evict next, or None if there is no candidate."""
    cfg = ks.config
    kind = cfg.kind
    if kind == "none":
        return None
    dbs = ks.dbs
    if kind == "random":
        ndb = len(dbs)
        for _ in range(ndb):
            ks.next_db = j = (ks.next_db + 1) % ndb
            source = dbs[j].keys if cfg.allkeys else dbs[j].vkeys
            if source:
                return j, source[int(ks.random() * len(source))]
        return None
    pool = ks.pool
    allkeys = cfg.allkeys
    while True:
        if len(dbs) == 1:  # the simulator's single database
            total = len(dbs[0].keys) if allkeys else len(dbs[0].vkeys)
            if total:
                populate(ks, pool, 0, now)
        else:
            total = 0
            for db in dbs:
                n = len(db.keys) if allkeys else len(db.vkeys)
                if n:
                    populate(ks, pool, db.id, now)
                    total += n
        if not total:
            return None
        scores, entries = pool.scores, pool.entries
        while entries:
            scores.pop()
            dbid, key = entries.pop()
            if key in (dbs[dbid].pos if allkeys else dbs[dbid].vpos):
                return dbid, key
            # a ghost: the key is gone since it entered the pool; try the next one


def perform_evictions(ks: Keyspace, now: float) -> bool:
    """Evict until used_memory <= maxmemory. False means the server is out of memory (OOM for
    write commands): noeviction, or no candidate left."""
    if ks.max_keys is not None:
        return _evict_to_key_count(ks, now)
    maxmemory = ks.config.maxmemory
    if not maxmemory:
        return True
    used = ks.used_memory()
    if used <= maxmemory:
        return True
    to_free = used - maxmemory
    freed = 0
    while freed < to_free:
        victim = select_victim(ks, now)
        if victim is None:
            return False
        before = ks.used_memory()
        ks.evict_key(victim[0], victim[1])
        freed += before - ks.used_memory()
    return True


def _evict_to_key_count(ks: Keyspace, now: float) -> bool:
    """The simulator's `max_keys` limit: the same victim choice, counted in keys, not bytes."""
    limit = ks.max_keys
    dbs = ks.dbs
    while (len(dbs[0].keys) if len(dbs) == 1 else sum(len(db.keys) for db in dbs)) > limit:
        victim = select_victim(ks, now)
        if victim is None:
            return False
        ks.evict_key(victim[0], victim[1])
    return True
