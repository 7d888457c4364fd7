"""Active expiry as Redis 7.0's expire.c runs it (activeExpireCycle, slow mode, from the cron).

Lazy expiry (a command touching an expired key deletes it) is the server glue's job; this is
the background sweep that reclaims keys nobody touches (cron.py runs it). Each cron tick (hz
per second), for every database with keys that have a TTL: sample 20 of them, delete the expired ones, and
repeat while more than 10% of a sample had expired; skip a database whose expires table is
less than 1% full (it waits for the cron to shrink the table). The tick stops when its time
budget (25% of a tick's CPU) is spent, checked every 16 loops. Until then, expired keys still
count in DBSIZE and used_memory, as on a real server.
"""
from __future__ import annotations

from .keyspace import DICT_HT_INITIAL_SIZE, Keyspace

KEYS_PER_LOOP = 20
ACCEPTABLE_STALE = 10      # percent
SLOW_TIME_PERC = 25        # percent of each tick's CPU time
# How many keys Redis checks per microsecond of that budget: measured, 20,000 keys sharing a
# deadline leave about 330 behind after the first tick at hz 10 (budget 25 ms).
KEYS_PER_US = 0.787


def budget_keys(hz: int) -> int:
    return int(KEYS_PER_US * SLOW_TIME_PERC * 1_000_000 / hz / 100)


def active_expire_cycle(ks: Keyspace, now: float) -> None:
    budget = budget_keys(ks.config.hz)
    checked = 0
    iteration = 0
    total_sampled = total_expired = 0
    rnd = ks.random
    for db in ks.dbs:
        while True:
            n = len(db.vkeys)
            if n == 0:
                break
            if db.vslots > DICT_HT_INITIAL_SIZE and n * 100 // db.vslots < 1:
                break
            num = min(n, KEYS_PER_LOOP)
            start = int(rnd() * n)
            sample = [db.vkeys[(start + j) % n] for j in range(num)]
            expired = 0
            for key in sample:
                if ks.is_expired(db.id, key, now):
                    ks.expire_key(db.id, key)
                    expired += 1
            iteration += 1
            checked += num
            total_sampled += num
            total_expired += expired
            if iteration % 16 == 0 and checked > budget:
                ks.stats.expired_time_cap_reached_count += 1
                _stale(ks, total_sampled, total_expired)
                return
            if expired * 100 // num <= ACCEPTABLE_STALE:
                break
    _stale(ks, total_sampled, total_expired)


def _stale(ks: Keyspace, sampled: int, expired: int) -> None:
    """expired_stale_perc: a running average of the share of expired keys seen in samples."""
    current = expired / sampled if sampled else 0.0
    ks.stats.expired_stale_perc = round((current * 0.05 + ks.stats.expired_stale_perc / 100 * 0.95) * 100, 2)
