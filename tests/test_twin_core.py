"""The pure-Python core: size classes, LRU/LFU arithmetic, the eviction pool, invariants."""
from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from entropy_lab.twin import memory
from entropy_lab.twin.config import ConfigError, TwinConfig, format_memory_human, parse_memory, parse_notify_flags
from entropy_lab.twin.cron import advance, cron
from entropy_lab.twin.evict import perform_evictions, populate, select_victim
from entropy_lab.twin.expire import active_expire_cycle
from entropy_lab.twin.keyspace import Keyspace
from entropy_lab.twin.pool import EVPOOL_SIZE
from entropy_lab.twin.lrulfu import (LRU_CLOCK_MAX, idle_seconds, lfu_decr_and_return, lfu_log_incr,
                                     lfu_touched, new_stamp)


def test_jemalloc_size_classes():
    assert [memory.je_size(n) for n in (1, 8, 9, 24, 104, 129, 1030, 4096, 4097)] == \
        [8, 8, 16, 32, 112, 160, 1280, 4096, 5120]


@given(st.integers(min_value=1, max_value=10**7))
def test_size_class_is_the_smallest_class_that_fits(n):
    size = memory.je_size(n)
    assert size >= n
    assert size - n < max(16, size // 4)


def test_string_sizes_match_redis_7():
    assert memory.string_encoding(b"123") == "int" and memory.string_bytes(b"123") == 0  # shared integer
    assert memory.string_bytes(b"123", shared_ints=False) == 16
    assert memory.string_encoding(b"0123") == "embstr"
    assert memory.string_bytes(b"x" * 44) == 64 and memory.string_bytes(b"x" * 45) == 16 + 64
    assert memory.key_entry_bytes(10, memory.raw_string_bytes(100)) == 176  # + 8 B of table = 184


def test_config_parsing():
    assert parse_memory("10mb") == 10 * 1024**2 and parse_memory("1G") == 10**9 and parse_memory("512") == 512
    for bad in ("1.5mb", "-1", "ten"):
        with pytest.raises(ValueError):
            parse_memory(bad)
    assert parse_notify_flags("Ex") == "xE" and parse_notify_flags("KA") == "AK"
    assert format_memory_human(2 * 1024 * 1024) == "2.00M" and format_memory_human(0) == "0B"
    cfg = TwinConfig(maxmemory="2mb", maxmemory_policy="volatile-ttl")
    assert (cfg.maxmemory, cfg.kind, cfg.allkeys) == (2 * 1024**2, "ttl", False)
    with pytest.raises(ConfigError):
        cfg.set_many([("maxmemory", "1mb"), ("hz", "x")])
    assert cfg.maxmemory == 2 * 1024**2  # all or nothing


def test_lru_idle_wraps_around():
    assert idle_seconds(10, 15) == 5
    assert idle_seconds(LRU_CLOCK_MAX - 1, 3) == 4


def test_lfu_counter_rules():
    assert new_stamp(120.0, lfu=True) == (2 << 8) | 5
    assert lfu_log_incr(5, 10, 0.999) == 6       # at or below 5 it always grows
    assert lfu_log_incr(15, 10, 0.5) == 15       # p = 1/101
    assert lfu_log_incr(15, 10, 0.005) == 16
    assert lfu_log_incr(255, 10, 0.0) == 255
    stamp = (10 << 8) | 20
    assert lfu_decr_and_return(stamp, 13, 1) == 17   # minus one per minute
    assert lfu_decr_and_return(stamp, 13, 0) == 20   # decay time 0: never
    assert lfu_decr_and_return(stamp, 100, 1) == 0
    assert lfu_touched(stamp, 13, 1, 10, 0.0) == (13 << 8) | 18


def test_pool_keeps_the_sixteen_best_in_order():
    ks = Keyspace(TwinConfig(maxmemory_policy="allkeys-lru", maxmemory_samples=40), databases=1)
    for i in range(40):
        ks.add(0, f"k{i}", 100, None, ks.new_stamp(100.0 + i))  # k0 is the idlest
    populate(ks, ks.pool, 0, 200.0)  # 40 candidates, at most 40 samples: every key, in order
    assert len(ks.pool) == EVPOOL_SIZE
    assert ks.pool.scores == list(range(85, 101))  # idle seconds, ascending: the best is last
    assert ks.pool.entries[-1] == (0, "k0") and ks.pool.entries[0] == (0, "k15")
    ks.add(0, "fresh", 100, None, ks.new_stamp(200.0))
    populate(ks, ks.pool, 0, 200.0)  # idle 0 is not better than the worst entry of a full pool
    assert (0, "fresh") not in ks.pool.entries and len(ks.pool) == EVPOOL_SIZE


def test_victim_is_the_idlest_key_and_ghosts_are_skipped():
    ks = Keyspace(TwinConfig(maxmemory_policy="allkeys-lru", maxmemory_samples=10), databases=1)
    for i in range(5):
        ks.add(0, i, 100, None, ks.new_stamp(100.0 + i))
    assert select_victim(ks, 200.0) == (0, 0)
    ks.evict_key(0, 0)
    ks.delete(0, 1)  # key 1 is still in the pool: a ghost
    assert select_victim(ks, 200.0) == (0, 2)


def test_volatile_ttl_picks_the_nearest_deadline_and_noeviction_fails():
    ks = Keyspace(TwinConfig(maxmemory_policy="volatile-ttl"), databases=1)
    ks.add(0, "a", 100, 5_000.0, ks.new_stamp(0.0))
    ks.add(0, "b", 100, 1_000.0, ks.new_stamp(0.0))
    ks.add(0, "c", 100, None, ks.new_stamp(0.0))
    assert select_victim(ks, 0.0) == (0, "b")
    ks.config.set("maxmemory-policy", "noeviction")
    assert select_victim(ks, 0.0) is None


ops = st.lists(st.tuples(st.sampled_from(["add", "del", "ttl", "tick"]), st.integers(0, 300),
                         st.integers(1, 3000)), max_size=300)


@settings(max_examples=40, deadline=None)
@given(ops, st.sampled_from(["allkeys-lru", "allkeys-lfu", "allkeys-random", "volatile-lru", "volatile-ttl"]))
def test_invariants_under_random_operations(operations, policy):
    ks = Keyspace(TwinConfig(maxmemory_policy=policy, maxmemory=1_080_000))
    empty = ks.used_memory()
    now = 1000.0
    for op, key, size in operations:
        db = ks.dbs[key % 3]
        if op == "add" and key not in db.pos:
            ks.add(db.id, key, size, (now + 1) * 1000.0 if key % 2 else None, ks.new_stamp(now))
        elif op == "del" and key in db.pos:
            ks.delete(db.id, key)
        elif op == "ttl" and key in db.pos:
            ks.update(db.id, key, size, (now + 0.5) * 1000.0)
        elif op == "tick":
            now += 0.3
            advance(ks, now)
        ok = perform_evictions(ks, now)
        used = ks.used_memory()
        assert used >= empty                                   # never below the empty server
        assert ks.data == sum(sum(d.size) + memory.EXPIRE_BYTES * len(d.vkeys) for d in ks.dbs)
        if ok:
            assert used <= ks.config.maxmemory                 # evictions bring memory under the limit
        else:
            assert policy.startswith("volatile")               # allkeys-* always finds a victim
        for d in ks.dbs:
            assert len(d.keys) == len(d.pos) == len(d.stamp) == len(d.size)
            assert all(d.keys[i] == k for k, i in d.pos.items())
            assert set(d.vkeys) == set(d.expire) <= set(d.pos)
    ks.flush()
    assert ks.used_memory() == empty


def test_active_expiry_reclaims_within_its_budget():
    ks = Keyspace(TwinConfig(), databases=1)
    for i in range(30_000):
        ks.add(0, i, 100, 1_000.0, ks.new_stamp(0.0))
    active_expire_cycle(ks, 2.0)
    left = len(ks.dbs[0].keys)
    assert 0 < left < 30_000 - 15_000          # one tick's budget: most, not all
    assert ks.stats.expired_time_cap_reached_count == 1
    active_expire_cycle(ks, 2.1)
    active_expire_cycle(ks, 2.2)
    left = len(ks.dbs[0].keys)
    assert 0 < left < 0.01 * 32768      # expires table under 1% full: waits for the cron to shrink it
    active_expire_cycle(ks, 2.3)
    assert len(ks.dbs[0].keys) == left
    for tick in range(5):
        cron(ks, 2.2 + tick / 10)        # shrinks the tables, then sweeps
    assert len(ks.dbs[0].keys) == 0 and ks.stats.expired_keys == 30_000
