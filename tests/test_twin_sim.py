"""The trace simulator: same model as the fake server, Redis's clock effects, sane limits."""
from __future__ import annotations

import numpy as np
import pytest

from entropy_lab import workloads
from entropy_lab.clock import VirtualClock
from entropy_lab.errors import LabError
from hypothesis import given, settings
from hypothesis import strategies as st

from entropy_lab.twin import TwinServer, evict, fakeserver, fake_client, miss_ratio_curve, sim, simulate


def test_simulator_uses_the_servers_eviction_code():
    # no copy: the simulator calls the very function the fake server calls
    assert sim.perform_evictions is evict.perform_evictions
    assert fakeserver.perform_evictions is evict.perform_evictions


def _via_general_path(trace: workloads.Trace) -> workloads.Trace:
    """The same reads, marked as reads: simulate() then takes its general (per-request) path."""
    return workloads.Trace(trace.keys, trace.n_keys, writes=np.zeros(len(trace.keys), dtype=bool))


@settings(max_examples=40, deadline=None)
@given(keys=st.lists(st.integers(0, 60), min_size=1, max_size=400),
       policy=st.sampled_from(["allkeys-lru", "allkeys-lfu", "allkeys-random"]),
       limit=st.one_of(st.integers(1, 40), st.sampled_from(["1030kb", "1050kb", "1100kb"])),
       samples=st.integers(1, 10), seed=st.integers(0, 3))
def test_fast_path_equals_general_path_within_one_tick(keys, policy, limit, samples, seed):
    """Reads without TTLs take the fast path; marked as reads they take the general one. The two
    judge an eviction at different instants (the miss that caused it; the next request, as Redis
    does), which only matters when a clock tick falls between: within one tick they must agree
    to the key."""
    trace = workloads.Trace(np.asarray(keys), 61)
    size = {"max_keys": limit} if isinstance(limit, int) else {"maxmemory": limit}
    kwargs = dict(policy=policy, samples=samples, seed=seed, rate=len(keys) * 20.0, value_size=200, **size)
    fast, general = simulate(trace, **kwargs), simulate(_via_general_path(trace), **kwargs)
    assert (fast.hits, fast.misses, fast.evictions, fast.keys, fast.used_memory) == \
        (general.hits, general.misses, general.evictions, general.keys, general.used_memory)
    np.testing.assert_array_equal(fast.series["keys"], general.series["keys"])


@settings(max_examples=20, deadline=None)
@given(keys=st.lists(st.integers(0, 60), min_size=1, max_size=400), max_keys=st.integers(1, 40),
       rate=st.sampled_from([1.0, 37.0, 1000.0]))
def test_fast_path_equals_general_path_for_random_eviction_at_any_rate(keys, max_keys, rate):
    """allkeys-random with a key count does not read the clock, so ticks cannot part the paths."""
    trace = workloads.Trace(np.asarray(keys), 61)
    kwargs = dict(policy="allkeys-random", max_keys=max_keys, rate=rate)
    fast, general = simulate(trace, **kwargs), simulate(_via_general_path(trace), **kwargs)
    assert (fast.hits, fast.evictions, fast.keys) == (general.hits, general.evictions, general.keys)


def test_result_counts_add_up():
    tr = workloads.zipf(50_000, 5_000, alpha=1.0, seed=1)
    r = simulate(tr, policy="allkeys-lru", max_keys=500)
    assert r.hits + r.misses == 50_000
    assert r.keys == 500
    assert r.evictions == r.misses - 500
    assert 0 < r.hit_ratio < 1
    assert len(r.series["t"]) == 100 and np.all(np.diff(r.series["requests"]) > 0)
    again = simulate(tr, policy="allkeys-lru", max_keys=500)  # seeded: the same run again
    assert (again.hits, again.misses, again.evictions) == (r.hits, r.misses, r.evictions)
    np.testing.assert_array_equal(again.series["hit_ratio"], r.series["hit_ratio"])
    assert r.series["requests"][-1] == 50_000 and r.series["keys"][-1] == 500


def test_one_second_lru_clock_makes_fast_traffic_evict_like_random():
    tr = workloads.zipf(60_000, 10_000, alpha=1.0, seed=2)
    fast = simulate(tr, policy="allkeys-lru", max_keys=500, samples=10, rate=100_000)
    slow = simulate(tr, policy="allkeys-lru", max_keys=500, samples=10, rate=100)
    rnd = simulate(tr, policy="allkeys-random", max_keys=500, rate=100_000)
    assert slow.hit_ratio > fast.hit_ratio + 0.01
    assert abs(fast.hit_ratio - rnd.hit_ratio) < 0.02


def test_lfu_beats_random_on_zipf_and_bigger_caches_miss_less():
    tr = workloads.zipf(60_000, 10_000, alpha=1.0, seed=3)
    lfu = simulate(tr, policy="allkeys-lfu", max_keys=500)
    rnd = simulate(tr, policy="allkeys-random", max_keys=500)
    assert lfu.hit_ratio > rnd.hit_ratio + 0.03
    curve = miss_ratio_curve(tr, [100, 500, 2_000], policy="allkeys-lru")
    assert np.all(np.diff(curve.miss_ratios) < 0)


def test_memory_limit_holds_about_as_many_keys_as_the_server():
    tr = workloads.zipf(30_000, 20_000, alpha=0.6, seed=4)
    r = simulate(tr, policy="allkeys-lru", maxmemory="2mb", value_size=1024)
    server = TwinServer(clock=VirtualClock(), config={"maxmemory": "2mb", "maxmemory-policy": "allkeys-lru"})
    client = fake_client(server)
    pipe = client.pipeline(transaction=False)
    for i in range(3_000):
        pipe.set(f"key:{i:06d}", "x" * 1024)
    pipe.execute()
    client.ping()
    assert abs(r.keys - client.dbsize()) <= 0.02 * client.dbsize()
    assert r.used_memory <= 2 * 1024 * 1024


def test_ttls_expire_and_writes_count():
    tr = workloads.mixed_ttls(20_000, 1_000, ttls=(0.5,), seed=5)
    r = simulate(tr, policy="allkeys-lru", max_keys=10_000, rate=1_000)  # 20 s of traffic
    assert r.expired > 0 and r.evictions == 0
    ws = workloads.write_stream(20_000, 1_000, write_ratio=0.3, seed=6)
    w = simulate(ws, policy="allkeys-lru", max_keys=200)
    assert w.writes == int(ws.writes.sum())
    assert w.hits + w.misses + w.writes == 20_000


@pytest.mark.parametrize("policy", ["volatile-lru", "allkeys-lfu"])
def test_recorded_hits_are_each_requests_outcome(policy):
    """record_hits keeps one outcome a request (1 hit, 0 miss, nan write) that adds up to the
    totals, and recording does not change the run; on reads without TTLs it takes the general path."""
    tr = workloads.mixed_ttls(20_000, 1_000, ttls=(0.0, 0.5, 5.0), seed=5)
    ws = workloads.Trace(tr.keys, tr.n_keys, writes=np.arange(len(tr.keys)) % 7 == 0, ttls=tr.ttls)
    for trace in (tr, ws):
        plain = simulate(trace, policy=policy, max_keys=300, rate=1_000)
        recorded = simulate(trace, policy=policy, max_keys=300, rate=1_000, record_hits=True)
        hits = recorded.request_hits
        assert plain.request_hits is None and len(hits) == 20_000
        assert (np.nansum(hits), int((hits == 0).sum()), int(np.isnan(hits).sum())) == \
            (recorded.hits, recorded.misses, recorded.writes)
        assert (plain.hits, plain.misses, plain.evictions) == (recorded.hits, recorded.misses, recorded.evictions)
    reads = workloads.zipf(5_000, 500, seed=2)
    general = simulate(_via_general_path(reads), policy="allkeys-lru", max_keys=50)
    assert simulate(reads, policy="allkeys-lru", max_keys=50, record_hits=True).hits == general.hits


def test_volatile_ttl_and_noeviction_limits():
    tr = workloads.mixed_ttls(10_000, 2_000, ttls=(0.0, 100.0), weights=(1, 1), seed=7)
    r = simulate(tr, policy="volatile-ttl", max_keys=300)
    assert r.keys >= 300
    with pytest.raises(LabError):
        simulate(tr, policy="allkeys-lru")
    with pytest.raises(LabError):
        simulate(tr, policy="nope", max_keys=10)


def test_timestamps_drive_the_clock():
    tr = workloads.zipf(20_000, 5_000, seed=8)
    ts = np.arange(20_000) / 100.0
    a = simulate(tr, policy="allkeys-lru", max_keys=300, timestamps=ts)
    b = simulate(tr, policy="allkeys-lru", max_keys=300, rate=100.0)
    assert a.hits == b.hits
    assert a.duration == pytest.approx(199.99)


@pytest.mark.parametrize("call, words", [
    (lambda: simulate([], max_keys=10), "empty"),
    (lambda: simulate([["a"], ["b"]], max_keys=10), "whole numbers"),
    (lambda: simulate([0.5, 1.5], max_keys=10), "whole numbers"),
    (lambda: simulate([3, -1], max_keys=10), "0 or more"),
    (lambda: miss_ratio_curve([1, 2, 3, 1], ["2xb"]), "not a cache size"),
    (lambda: miss_ratio_curve([1, 2, 3, 1], [None]), "not a cache size"),
])
def test_bad_traces_and_sizes_raise_one_sentence(call, words):
    with pytest.raises(LabError) as info:
        call()
    message = str(info.value)
    assert words in message and "\n" not in message and message.endswith(".")


def test_string_keys_replay_like_their_ids():
    """Key names map to ids in order of first appearance: the same run as the ids themselves."""
    trace = workloads.zipf(5_000, 500, seed=3)
    names = [f"user:{k}" for k in trace.keys.tolist()]
    by_name = simulate(names, max_keys=100)
    first_seen: dict = {}
    ids = [first_seen.setdefault(k, len(first_seen)) for k in trace.keys.tolist()]
    by_id = simulate(ids, max_keys=100)
    assert (by_name.hits, by_name.misses, by_name.evictions) == (by_id.hits, by_id.misses, by_id.evictions)
    assert simulate([b"a", b"b", b"a"], max_keys=10).hits == 1
    assert miss_ratio_curve(names, [50, 200]).miss_ratios[0] > miss_ratio_curve(names, [50, 200]).miss_ratios[1]
