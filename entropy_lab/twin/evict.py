"""Eviction as Redis 7.0's evict.c does it (performEvictions / evictionPoolPopulate).

Before a command, while used_memory > maxmemory, pick and delete a victim:
- LRU / LFU / volatile-ttl: each round samples `maxmemory-samples` keys from every database
  that has candidates (the whole keyspace for allkeys-*, keys with a TTL for volatile-*) into a
  16-entry pool kept sorted by score (idle seconds; 255 - decayed LFU counter; nearest
  deadline; see pool.py). The victim is the best entry whose key still exists.
- random policies: one uniformly random key, visiting databases round-robin.
- noeviction, or no candidate: fail, and the server refuses write commands with OOM.
Sampling is uniform here; Redis walks consecutive hash buckets from a random start.
"""
from __future__ import annotations

from bisect import bisect_left
from typing import Any

from .keyspace import Keyspace
from .lrulfu import LRU_CLOCK_MAX, lfu_decr_and_return, lfu_minutes, lru_clock
from .pool import EVPOOL_SIZE, EvictionPool

OOM_MESSAGE = "OOM command not allowed when used memory > 'maxmemory'."


def populate(ks: Keyspace, pool: EvictionPool, dbid: int, now: float) -> None:
    """Sample `maxmemory-samples` candidates of one database into the pool (evictionPoolPopulate).

    One loop for every policy: it runs for every eviction, so it avoids calls and lists."""
    cfg = ks.config
    db = ks.dbs[dbid]
    allkeys = cfg.allkeys
    source = db.keys if allkeys else db.vkeys
    n = len(source)
    sampled = n > cfg.samples  # else every candidate, in order
    kind = cfg.kind
    lru, lfu = kind == "lru", kind == "lfu"
    if lru:
        clock = lru_clock(now)
    elif lfu:
        minutes, decay = lfu_minutes(now), cfg.lfu_decay_time
    stamp, pos, expire = db.stamp, db.pos, db.expire
    scores, entries = pool.scores, pool.entries
    rnd = ks.random
    for j in range(cfg.samples if sampled else n):
        i = int(rnd() * n) if sampled else j
        if lru:
            s = stamp[i] if allkeys else stamp[pos[source[i]]]
            score = clock - s if clock >= s else clock + (LRU_CLOCK_MAX - s)  # idle_seconds(s, clock)
        elif lfu:
            score = 255 - lfu_decr_and_return(stamp[i] if allkeys else stamp[pos[source[i]]], minutes, decay)
        else:
            score = -expire[source[i]]
        # the pool's insertion rule: a free slot takes any sample; a full pool drops its worst entry
        # for a better sample and ignores one that is not better
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
    scores, entries = pool.scores, pool.entries
    allkeys = cfg.allkeys
    while True:
        total = 0
        for db in dbs:
            n = len(db.keys) if allkeys else len(db.vkeys)
            if n:
                populate(ks, pool, db.id, now)
                total += n
        if not total:
            return None
        while entries:  # the best entry whose key still exists
            scores.pop()
            dbid, key = entries.pop()
            if key in (dbs[dbid].pos if allkeys else dbs[dbid].vpos):
                return dbid, key
            # a ghost: the key is gone since it entered the pool; try the next one


def perform_evictions(ks: Keyspace, now: float) -> bool:
    """Evict until used_memory <= maxmemory. False means the server is out of memory (OOM for
    write commands): noeviction, or no candidate left."""
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
