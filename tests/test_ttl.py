"""entropy_lab.ttl and the checks of notebook 01."""
import math
import random
from pathlib import Path

import pytest
import redis

import entropy_lab as lab
from entropy_lab import ttl
from entropy_lab.checks import lesson01
from entropy_lab.clock import RealClock, VirtualClock
from entropy_lab.twin import TwinServer, fake_client


def fake():
    client = fake_client(TwinServer(clock=VirtualClock()))
    return client, lab.namespace(client, "t01")


# ---- the toy cache ---------------------------------------------------------------------------

def test_toy_cache_replays_the_article_scenario():
    clock = VirtualClock()
    cache = ttl.TTLCache(ttl=5, clock=clock)
    cache.set("user:1", "Alice")
    clock.advance(3)
    first = cache.get("user:1")
    clock.advance(3)
    second = cache.get("user:1")
    assert (first.status, first.value, first.age, first.ttl_left) == ("hit", "Alice", 3, 2)
    assert (second.status, second.value, second.age, second.ttl_left, second.overdue) == ("expired", None, 6, None, 1)
    assert cache.get("user:1").status == "missing" and len(cache) == 0


def test_toy_cache_expiry_is_lazy_until_swept():
    clock = VirtualClock()
    cache = ttl.TTLCache(ttl=1, clock=clock)
    for i in range(10):
        cache.set(f"k{i}", i)
    cache.set("long", 0, ttl=100)
    clock.advance(2)
    assert len(cache) == 11
    assert cache.sweep() == 10 and len(cache) == 1 and cache.get("long").hit


def test_toy_cache_rejects_nonsense_ttl():
    with pytest.raises(ValueError):
        ttl.TTLCache(ttl=0)


def test_toy_cache_defaults_to_the_lab_clock(fake_mode):
    lab.connect()
    cache = ttl.TTLCache(ttl=5)
    cache.set("k", 1)
    lab.sleep(6)
    assert cache.get("k").status == "expired"


# ---- expiry semantics --------------------------------------------------------------------------

def test_run_commands_tabulates_replies_and_ttls():
    client, ns = fake()
    out = ttl.run_commands(client, ns.key("k"), ["SET k v EX 100", "EXPIRE k 50 NX", "SET k w",
                                                  "TTL k", "GET nothing", "PERSIST k"])
    rows = out.rows
    assert rows[0][1:] == ["OK", "100"] and rows[1][1:] == ["(integer) 0", "100"]
    assert rows[2][1:] == ["OK", "-1"] and rows[3][1] == "(integer) -1"
    assert rows[4][1] == "(nil)" and rows[5][1] == "(integer) 0"


def test_run_commands_shows_a_refused_command_as_redis_cli_does():
    client, ns = fake()
    rows = ttl.run_commands(client, ns.key("k"), ["SET k v EX 100", "EXPIRE k 50 GT NX", "TTL k"]).rows
    assert rows[1][1].startswith("(error) ") and rows[2][1] == "(integer) 100"
    for bad in ("SET k v EX 100", ["SET k 'v"], [""]):
        with pytest.raises(lab.LabError):
            ttl.run_commands(client, ns.key("k"), bad)


@pytest.mark.redis_server
def test_expiry_semantics_match_a_real_redis(redis_url):
    commands = ["SET k v EX 100", "SET k v PX 2000", "TTL k", "EXPIRE k 50 NX", "EXPIRE k 50 XX", "EXPIRE k 500 LT",
                "EXPIRE k 500 GT", "INCR n", "SET k 10 KEEPTTL", "INCR k", "APPEND k 0", "SET k v",
                "PERSIST k", "TTL missing", "PEXPIRE k 100000", "PERSIST k", "EXPIRE k 50 NX", "EXPIRE k 300 XX", "DEL k"]
    real = redis.Redis.from_url(redis_url, decode_responses=True)
    fake_client_, ns = fake()
    key = "entropy-lab:t01:sem"
    real.delete(key, f"{key}:n")
    try:
        assert ttl.run_commands(real, key, commands).rows == ttl.run_commands(fake_client_, key, commands).rows
    finally:
        real.delete(key, f"{key}:n")


OTHER_KEYS = ["SET k v EX 100", "SET k v2 GET", "MSET k y j 2", "RENAME k k2", "TTL k2", "EXISTS k k2 j",
              "MGET k2 j", "GETSET k2 z", "DEL j"]


def other_keys_stay_in_the_namespace(client, key):
    client.delete(key, f"{key}:k2", f"{key}:j")
    before = set(client.keys("*"))
    rows = ttl.run_commands(client, key, OTHER_KEYS).rows
    written = set(client.keys("*")) - before
    client.delete(key, f"{key}:k2", f"{key}:j")
    return [r[1] for r in rows], written


def test_every_key_a_command_names_stays_under_the_lessons_key():
    client, ns = fake()
    replies, written = other_keys_stay_in_the_namespace(client, ns.key("k"))
    assert written == {ns.key("k") + ":k2"}, "RENAME k k2 must not write outside the namespace"
    assert replies[1] == '"v"' and replies[2] == "OK", "Redis's own replies, as redis-cli shows them"
    assert replies[5] == "(integer) 2" and replies[6] == '1) "y" 2) "2"'
    with pytest.raises(lab.LabError, match="fixed places"):
        ttl.run_commands(client, ns.key("k"), ["EVAL 'return 1' 1 k"])


@pytest.mark.redis_server
def test_other_keys_and_replies_match_a_real_redis(redis_url):
    real = redis.Redis.from_url(redis_url, decode_responses=True)
    fake_client_, ns = fake()
    key = "entropy-lab:t01:other"
    assert other_keys_stay_in_the_namespace(real, key) == other_keys_stay_in_the_namespace(fake_client_, key)


# ---- lazy and active expiry --------------------------------------------------------------------

def test_expired_keys_count_until_the_active_cycle_reclaims_them(fake_mode):
    lab.connect()
    with lab.sandbox() as box:
        ns = lab.namespace(box, "t01")
        # start 10 ms after a cron tick (hz 10), so the 1 and 2 ms samples after the deadline come
        # before the next active cycle whatever time earlier tests left on the shared virtual clock
        lab.sleep(0.1 - lab.now() % 0.1 + 0.01)
        deadline = ttl.fill_expiring(box, ns, 500, px=1000)
        first = ttl.watch_expiry(box, deadline, [1])[0]
        assert box.get(ns.key("dying", 0)) is None
        later = ttl.watch_expiry(box, deadline, [2, 1000])
    assert first.dbsize == 500 and first.expired_keys == 0
    assert later[0].dbsize == 499 and later[0].expired_keys == 1
    assert later[-1].dbsize == 0 and later[-1].expired_keys == 500
    assert later[-1].used_memory < first.used_memory


@pytest.mark.redis_server
def test_expiry_invariant_on_a_real_server(fresh_redis_server):
    client = fresh_redis_server.client()
    ns = lab.namespace(client, "t01")
    lab.clock.use(lab.clock.RealClock())
    try:
        deadline = ttl.fill_expiring(client, ns, 500, px=1500)
        samples = ttl.watch_expiry(client, deadline, [1, 100, 1000])
    finally:
        lab.clock.use(lab.clock.virtual())
    assert all(s.dbsize + s.expired_keys == 500 for s in samples)
    assert samples[-1].dbsize < 50


# ---- the TTL trade-off -------------------------------------------------------------------------

def test_catalogue_stream_is_the_one_notebook_01_stored():
    """Notebook 01's stored outputs depend on this exact stream."""
    stream = ttl.catalogue_stream(n_keys=100, seconds=300, read_rate=100, change_every=1000, seed=1)
    assert len(stream) == 30031
    assert [(r.at, r.op, r.key) for r in stream[:4]] == [
        (0.0, "read", "item:0"), (0.01, "read", "item:45"), (0.02, "read", "item:29"), (0.03, "read", "item:1")]


def test_catalogue_stream_is_seeded_and_has_the_promised_rates():
    a = ttl.catalogue_stream(n_keys=50, seconds=200, read_rate=50, change_every=100, seed=3)
    assert a == ttl.catalogue_stream(n_keys=50, seconds=200, read_rate=50, change_every=100, seed=3)
    writes = sum(req.op == "write" for req in a)
    assert 70 < writes < 130  # 50 items x 200 s / 100 s
    assert sum(req.op == "read" for req in a) == 10_000
    assert [req.at for req in a] == sorted(req.at for req in a)


def test_batched_replay_equals_one_command_per_request():
    client, ns = fake()
    stream = ttl.catalogue_stream(n_keys=30, seconds=60, read_rate=30, change_every=60, seed=5)
    one_by_one = ttl.run_ttl(client, ns, stream, 4.0, batch=1e-9)
    batched = ttl.run_ttl(client, ns, stream, 4.0, batch=30.0)
    fields = ("reads", "hits", "stale_reads", "source_reads", "max_age")
    assert [getattr(one_by_one, f) for f in fields] == [getattr(batched, f) for f in fields]
    assert batched.round_trips < one_by_one.round_trips / 10


def test_ttl_bounds_staleness_and_trades_hits_for_freshness():
    client, ns = fake()
    stream = ttl.catalogue_stream(n_keys=50, seconds=120, read_rate=50, change_every=200, seed=1)
    results = ttl.ttl_sweep(client, ns, stream, [1, 5, 30])
    assert all(res.max_age < res.ttl for res in results)
    hits = [res.hit_ratio for res in results]
    loads = [res.source_load for res in results]
    assert hits == sorted(hits) and loads == sorted(loads, reverse=True)
    assert results[0].stale_fraction < results[-1].stale_fraction
    assert list(client.scan_iter(match=ns.pattern())) == []


def test_feasible_ttls_filters_on_both_targets():
    a = ttl.TTLResult(ttl=1, seconds=1, reads=100, hits=80, stale_reads=0)
    b = ttl.TTLResult(ttl=5, seconds=1, reads=100, hits=95, stale_reads=0)
    c = ttl.TTLResult(ttl=9, seconds=1, reads=100, hits=99, stale_reads=2)
    assert ttl.feasible_ttls([a, b, c]) == [5]


# ---- the stampede ---------------------------------------------------------------------------------

SMALL = ttl.StampedeWorkload(n_keys=80, read_rate=80, seconds=30, ttl=10)


def test_xfetch_test_follows_the_paper():
    rng = random.Random(0)
    # P(refresh) = exp(-ttl_left / (delta * beta))
    share = sum(ttl.xfetch_should_refresh(0.2, 0.2, 1.0, rng) for _ in range(20_000)) / 20_000
    assert abs(share - math.exp(-1)) < 0.02
    assert not any(ttl.xfetch_should_refresh(100, 0.2, 1.0, rng) for _ in range(1000))


def test_jittered_ttl_stays_in_its_band():
    rng = random.Random(1)
    values = [ttl.jittered_ttl(10, rng, spread=0.2) for _ in range(1000)]
    assert 8 <= min(values) < 8.2 and 11.8 < max(values) <= 12


def test_stampede_defences_cut_the_peak():
    client, ns = fake()
    none = ttl.run_stampede(client, ns, SMALL)
    jitter = ttl.run_stampede(client, ns, SMALL, ttl_fn=ttl.jittered_ttl)
    xfetch = ttl.run_stampede(client, ns, SMALL, xfetch_beta=1.0, background=True)
    lock = ttl.run_stampede(client, ns, SMALL, lock=True)
    assert none.source_per_second[:10] == [0] * 10 and none.peak == none.source_per_second[10]
    assert jitter.peak < none.peak and xfetch.peak < none.peak and lock.peak < none.peak
    assert xfetch.early_refreshes > 0 and xfetch.hit_ratio > none.hit_ratio
    assert lock.lock_waits > 0 and lock.max_wait <= SMALL.recompute + 0.05 + 1e-9
    assert lock.source_reads < none.source_reads
    assert list(client.scan_iter(match=ns.pattern())) == []


def test_stampede_is_deterministic():
    client, ns = fake()
    a = ttl.run_stampede(client, ns, SMALL, xfetch_beta=1.0)
    b = ttl.run_stampede(client, ns, SMALL, xfetch_beta=1.0)
    assert a.source_per_second == b.source_per_second


@pytest.mark.redis_server
def test_stampede_and_sweep_are_identical_on_a_real_redis(redis_url):
    real = redis.Redis.from_url(redis_url, decode_responses=True)
    ns_real = lab.namespace(real, "t01")
    client, ns = fake()
    clock = VirtualClock()
    client = fake_client(TwinServer(clock=clock))  # here Redis's own expiry, on a clock the replay moves
    for kwargs in ({}, {"lock": True}, {"xfetch_beta": 1.0}):
        assert (ttl.run_stampede(real, ns_real, SMALL, **kwargs).source_per_second
                == ttl.run_stampede(client, ns, SMALL, clock=clock, **kwargs).source_per_second)
    stream = ttl.catalogue_stream(n_keys=30, seconds=60, read_rate=30, change_every=60, seed=5)
    live = ttl.run_ttl(real, ns_real, stream, 4)
    assert live == ttl.run_ttl(client, ns, stream, 4, clock=clock) and live.expired_by.startswith("model")
    assert list(real.scan_iter(match=ns_real.pattern())) == []
    ns_real.reset()


@pytest.mark.redis_server
def test_every_copy_written_on_a_real_server_has_a_ttl(redis_url):
    real = redis.Redis.from_url(redis_url, decode_responses=True)
    ns_real = lab.namespace(real, "t01")
    view = ttl.BatchedView(real)
    try:
        for i in range(20):
            view.set(ns_real.key("ttl", i), ttl.Copy(1, 30.0 + i, 0.0, "v"), 0.0)
        view.flush()
        pttls = [real.pttl(ns_real.key("ttl", i)) for i in range(20)]
        expected = [30_000 + 1000 * i + ttl.MODEL_SLACK_MS for i in range(20)]
        assert all(e - 5000 < p <= e for p, e in zip(pttls, expected))
    finally:
        ns_real.reset()


def test_checks_use_the_notebooks_workloads():
    source = (Path(__file__).resolve().parent.parent / "notebook_src" / "01_time_to_live.py").read_text()
    assert "ttl.StampedeWorkload(n_keys=200, read_rate=200, seconds=45, ttl=15, recompute=0.2)" in source
    assert ttl.STAMPEDE == ttl.StampedeWorkload(n_keys=200, read_rate=200, seconds=45, ttl=15, recompute=0.2)
    args = ", ".join(f"{k}={v}" for k, v in lesson01.EXERCISE_STREAM.items())
    assert f"ttl.catalogue_stream({args})" in source


# ---- Redis TTLs on every copy, and who expires them -----------------------------------------------

def test_replay_on_a_virtual_clock_lets_redis_expire_copies_with_identical_results():
    clock = VirtualClock()
    client = fake_client(TwinServer(clock=clock))
    ns = lab.namespace(client, "t01")
    stream = ttl.catalogue_stream(n_keys=30, seconds=60, read_rate=30, change_every=60, seed=5)
    modelled = ttl.run_ttl(client, ns, stream, 4.0, batch=10, clock=RealClock())  # as against a real server
    start = clock.time()
    by_redis = ttl.run_ttl(client, ns, stream, 4.0, batch=10, clock=clock)
    assert by_redis == modelled and clock.time() - start >= 50
    assert by_redis.redis_expired > 0 and modelled.redis_expired == 0
    assert by_redis.expired_by.startswith("Redis") and modelled.expired_by.startswith("model")
    assert list(client.scan_iter(match=ns.pattern())) == []  # run_ttl clears its keys afterwards


def test_every_copy_is_written_with_a_ttl():
    clock = VirtualClock()
    client = fake_client(TwinServer(clock=clock))
    view = ttl.BatchedView(client, clock)
    view.set("a", ttl.Copy(1, 2.5, 0.0, "v"), 0.0)
    view.set("b", ttl.Copy(1, 10.0, 0.0, "v"), 0.0)
    view.flush()
    assert (client.pttl("a"), client.pttl("b")) == (2500, 10_000)
    view.begin(["a", "b"], 3.0)
    assert view.known["a"] is None and view.known["b"].deadline == 10.0 and view.dropped == 1


def test_xfetch_as_in_the_paper_makes_the_refreshing_reader_wait():
    client, ns = fake()
    paper = ttl.run_stampede(client, ns, SMALL, xfetch_beta=1.0)
    background = ttl.run_stampede(client, ns, SMALL, xfetch_beta=1.0, background=True)
    none = ttl.run_stampede(client, ns, SMALL)
    # same draws, same source reads; only who waits differs
    assert paper.source_per_second == background.source_per_second and paper.early_refreshes > 0
    assert paper.hits == background.hits - paper.early_refreshes
    assert paper.hit_ratio < background.hit_ratio and none.hit_ratio < background.hit_ratio
    assert paper.waits == [] and paper.max_wait == 0  # its wait is a recompute, as for a miss, not a lock wait


# ---- nonsense input: one sentence, fast, never an endless loop ------------------------------------

BAD_CALLS = [
    ("change_every", lambda c, ns: ttl.catalogue_stream(change_every=-1)),
    ("change_every", lambda c, ns: ttl.catalogue_stream(change_every=0)),
    ("n_keys", lambda c, ns: ttl.catalogue_stream(n_keys=0)),
    ("n_keys", lambda c, ns: ttl.catalogue_stream(n_keys=2.5)),
    ("read_rate", lambda c, ns: ttl.catalogue_stream(read_rate=-3)),
    ("seconds", lambda c, ns: ttl.catalogue_stream(seconds=float("nan"))),
    ("5 million", lambda c, ns: ttl.catalogue_stream(change_every=1e-9)),
    ("batch", lambda c, ns: ttl.run_ttl(c, ns, ttl.catalogue_stream(n_keys=5, seconds=5), 5, batch=0)),
    ("ttl", lambda c, ns: ttl.run_ttl(c, ns, ttl.catalogue_stream(n_keys=5, seconds=5), -5)),
    ("ttl", lambda c, ns: ttl.run_ttl(c, ns, ttl.catalogue_stream(n_keys=5, seconds=5), "10")),
    ("empty", lambda c, ns: ttl.run_ttl(c, ns, [], 5)),
    ("lock_retry", lambda c, ns: ttl.run_stampede(c, ns, SMALL, lock=True, lock_retry=0)),
    ("lock_retry", lambda c, ns: ttl.run_stampede(c, ns, SMALL, lock=True, lock_retry=-1)),
    ("workload.ttl", lambda c, ns: ttl.run_stampede(c, ns, ttl.StampedeWorkload(ttl=-15))),
    ("workload.n_keys", lambda c, ns: ttl.run_stampede(c, ns, ttl.StampedeWorkload(n_keys=0))),
    ("workload.recompute", lambda c, ns: ttl.run_stampede(c, ns, ttl.StampedeWorkload(recompute=0))),
    ("xfetch_beta", lambda c, ns: ttl.run_stampede(c, ns, SMALL, xfetch_beta=-1)),
    ("batch", lambda c, ns: ttl.run_stampede(c, ns, SMALL, batch=0)),
    ("StampedeWorkload", lambda c, ns: ttl.run_stampede(c, ns, 15)),
    ("TTL function", lambda c, ns: ttl.run_stampede(c, ns, SMALL, ttl_fn=lambda base, rng: -base)),
    ("base", lambda c, ns: ttl.jittered_ttl(-10, random.Random(0))),
    ("spread", lambda c, ns: ttl.jittered_ttl(10, random.Random(0), spread=1.5)),
    ("TTL", lambda c, ns: ttl.TTLCache(ttl=-1)),
    ("TTL", lambda c, ns: ttl.TTLCache(ttl=5).set("k", "v", ttl=-2)),
]


@pytest.mark.parametrize("word,call", BAD_CALLS, ids=[f"{i}-{w}" for i, (w, _) in enumerate(BAD_CALLS)])
def test_nonsense_input_is_one_friendly_sentence(word, call):
    client, ns = fake()
    with pytest.raises(lab.LabError) as caught:
        call(client, ns)
    assert word.lower() in str(caught.value).lower() and str(caught.value).count("\n") == 0
    assert isinstance(caught.value, ValueError)  # older code that caught ValueError still works
