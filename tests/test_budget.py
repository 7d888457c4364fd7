"""The entropy-budget model (notebook 06): workload, defences, frontier, real-Redis replay, capstone check."""
import itertools
import math
import threading
from dataclasses import replace

import pytest

import entropy_lab as lab
from entropy_lab import budget as bg
from entropy_lab.budget import CAPSTONE_SLO, ENERGY_BUDGET, BudgetConfig
from entropy_lab.budget.model import VERSION
from entropy_lab.checks import check_budget_config
from entropy_lab.errors import LabError
from tests.conftest import need_redis_server
from tests.test_checks_06 import SOLUTION   # the notebook's own worked solution


@pytest.fixture(scope="module")
def small():
    return bg.small_workload()


# ---------------------------------------------------------------- workload

def test_workload_is_seeded_and_has_its_incidents():
    w = bg.default_workload()
    again = bg.budget_workload()
    assert w == again and len(w) == 12_000
    other = bg.budget_workload(seed=7)
    assert other.keys != w.keys
    kinds = [what for _, what in w.incidents()]
    assert kinds.count("write burst") == 4 and "hot set shifts" in kinds and "a shard is added" in kinds
    # writes are bursty: the burst windows hold far more writes per request than the rest
    in_burst = [any(a <= t < b for a, b in w.bursts) for t in w.times]
    share = lambda flag: sum(wr for wr, b in zip(w.writes, in_burst) if b == flag) / max(1, in_burst.count(flag))
    assert share(True) > 5 * share(False)
    assert 0 < sum(w.bypass) < sum(w.writes) / 10
    assert all(w.writes[i] for i, b in enumerate(w.bypass) if b)


def test_reads_are_skewed_and_the_hot_set_moves():
    w = bg.default_workload()
    before = [k for k, t, wr in zip(w.keys, w.times, w.writes) if t < w.hot_shift_at and not wr]
    after = [k for k, t, wr in zip(w.keys, w.times, w.writes) if t >= w.hot_shift_at + 5 and not wr]
    top = lambda ks: max(set(ks), key=ks.count)
    assert before.count(top(before)) > 20 * len(before) / w.n_keys
    assert top(before) != top(after)


def test_owners_consistent_moves_fewer_keys_than_modulo():
    moved = lambda h: sum(a != b for a, b in zip(bg.owners(500, 3, h), bg.owners(500, 4, h))) / 500
    assert 0.15 < moved("consistent") < 0.35
    assert moved("modulo") > 0.6


# ---------------------------------------------------------------- validation

@pytest.mark.parametrize("bad", [dict(ttl=0), dict(jitter=1.5), dict(l1_ttl=-1), dict(invalidation="kafka"),
                                 dict(policy="lru"), dict(hashing="crc"), dict(shards=0), dict(maxmemory_mb=1)])
def test_bad_knobs_raise_one_clear_lab_error(bad):
    with pytest.raises(LabError):
        bg.validate(BudgetConfig(**bad))


def test_not_a_config_is_a_lab_error():
    with pytest.raises(LabError, match="BudgetConfig"):
        bg.simulate_budget({"ttl": 60})


# ---------------------------------------------------------------- the defences do what the series says

def test_deterministic():
    a, b = bg.simulate_budget(SOLUTION), bg.simulate_budget(SOLUTION)
    assert a.row() == b.row() and a.per_second == b.per_second


def test_invalidation_and_versions_remove_stale_reads():
    base = BudgetConfig(ttl=60, l1_ttl=5, shards=2)
    none, pubsub = bg.run(base), bg.run(replace(base, invalidation="pubsub"))
    versioned = bg.run(replace(base, invalidation="pubsub", versioned=True))
    assert none.stale_fraction > 0.4 > 0.05 > pubsub.stale_fraction > versioned.stale_fraction
    assert none.messages == 0 < pubsub.messages
    assert pubsub.stale_fills > 0  # the race happens, and versions stop its stale copies
    assert versioned.round_trips > pubsub.round_trips


def test_stream_replays_what_pubsub_loses_in_the_outage():
    # local copies that never expire: pub/sub leaves the absent instance stale forever, a stream does not
    base = BudgetConfig(ttl=60, l1_ttl=None, versioned=True, shards=2)
    pubsub, stream = bg.run(replace(base, invalidation="pubsub")), bg.run(replace(base, invalidation="stream"))
    assert stream.stale_reads < pubsub.stale_reads / 2
    assert stream.messages > pubsub.messages


def test_ttl_bounds_the_staleness_of_writes_nobody_announces():
    base = BudgetConfig(l1_ttl=0, invalidation="pubsub", versioned=True, shards=2)
    forever, short = bg.run(replace(base, ttl=None)), bg.run(replace(base, ttl=30))
    assert forever.worst_staleness > 60 and short.worst_staleness <= 30
    assert short.hit_ratio < forever.hit_ratio


def test_no_local_cache_means_no_local_hits_and_more_round_trips():
    base = BudgetConfig(invalidation="pubsub", versioned=True, shards=2)
    off, on = bg.run(replace(base, l1_ttl=0)), bg.run(replace(base, l1_ttl=1))
    assert off.l1_hits == 0 < on.l1_hits and off.round_trips > on.round_trips


def test_jitter_spreads_the_batch_jobs_expiry():
    base = replace(SOLUTION, jitter=0.0)
    assert bg.run(SOLUTION).source_peak < bg.run(base).source_peak


def test_memory_limit_policies():
    tight = BudgetConfig(ttl=None, maxmemory_mb=1.5, shards=1)
    lru, noev = bg.run(tight), bg.run(replace(tight, policy="noeviction"))
    assert lru.evictions > 0 and lru.refused_writes == 0
    assert noev.evictions == 0 and noev.refused_writes > 0
    volatile = bg.run(replace(tight, policy="volatile-lru"))
    assert volatile.refused_writes == noev.refused_writes  # no key has a TTL: nothing to evict
    assert bg.run(replace(tight, ttl=60, policy="volatile-lru")).evictions > 0
    assert bg.run(replace(tight, policy="allkeys-lfu")).evictions > 0
    assert bg.run(replace(tight, policy="allkeys-random")).evictions > 0


def test_memory_never_exceeds_the_limit():
    config = BudgetConfig(ttl=None, maxmemory_mb=1.5, shards=1)
    tier = bg.ModelRedis(config, bg.default_workload())
    bg.simulate_budget(config, tier=tier)
    assert all(used <= tier.capacity for used in tier.used)
    assert tier.used == [sum(e[2] for e in table.values()) for table in tier.tables]


def test_scale_out_moves_keys_and_consistent_hashing_moves_fewer():
    base = BudgetConfig(ttl=60, l1_ttl=0, invalidation="pubsub", versioned=True, shards=3)
    cons, mod = bg.run(base), bg.run(replace(base, hashing="modulo"))
    assert 0 < cons.keys_moved < mod.keys_moved / 2
    assert bg.run(replace(base, shards=1)).memory_mb < cons.memory_mb


def test_energy_and_frontier():
    results = bg.sweep([BudgetConfig(ttl=t, invalidation=i, shards=2) for t in (30, None) for i in ("none", "pubsub")])
    front = bg.pareto_front(results)
    for r in results:
        assert r.energy() == pytest.approx(sum(r.energy_items().values()))
        # nothing on the frontier is beaten on both axes
    for f in front:
        assert not any(r.energy() < f.energy() and r.stale_fraction < f.stale_fraction for r in results)
    assert [f.energy() for f in front] == sorted(f.energy() for f in front)
    dear = {**bg.PRICES, "memory_mb": 20.0}
    assert results[0].energy(dear) > results[0].energy()


# ---------------------------------------------------------------- the SLO and the capstone check

def test_slo_misses_name_the_objective_and_a_fix():
    result = bg.run(BudgetConfig())
    names = [m[0] for m in CAPSTONE_SLO.misses(result)]
    assert "stale reads" in names and not CAPSTONE_SLO.met(result)
    assert all(fix for _, _, fix in CAPSTONE_SLO.misses(result))


def test_capstone_solution_passes():
    verdict = check_budget_config(SOLUTION)
    assert verdict.passed, str(verdict)
    assert "within the budget" in str(verdict)


@pytest.mark.parametrize("config, expect", [
    (BudgetConfig(), "misses"),
    (replace(SOLUTION, jitter=0.0), "source peak"),
    (replace(SOLUTION, l1_ttl=1), "stale reads"),
    (replace(SOLUTION, ttl=60, invalidation="stream"), "the budget is"),
    (None, "no configuration"),
    ({"ttl": 60}, "expected a BudgetConfig"),
    (BudgetConfig(shards=0), "not valid"),
])
def test_capstone_check_explains_what_is_wrong(config, expect):
    verdict = check_budget_config(config)
    assert not verdict.passed and expect in str(verdict)
    assert "Hint:" in str(verdict)


def test_energy_budget_is_a_little_above_the_cheapest_configuration_that_meets_the_slo():
    """The budget must be reachable on all the capstone's workloads, and not so loose that any
    SLO-meeting configuration passes (energy: the mean over the workloads)."""
    grid = [BudgetConfig(ttl=t, jitter=j, l1_ttl=l1, invalidation=inv, versioned=True, maxmemory_mb=mb, shards=n)
            for t, j, l1, inv, (mb, n) in itertools.product(
                (60, 90, 120, None), (0, 0.2), (0, 1), ("pubsub", "stream"), ((2, 1), (2, 2), (3, 1)))
            if not (t is None and j)]
    met = [runs for runs in map(bg.run_seeds, grid) if not CAPSTONE_SLO.misses_over(runs)]
    assert met
    cheapest = min(runs.mean("energy") for runs in met)
    assert cheapest <= ENERGY_BUDGET < 1.1 * cheapest
    assert any(runs.mean("energy") > ENERGY_BUDGET for runs in met)


def test_run_seeds_rejects_bad_seeds():
    with pytest.raises(LabError, match="seeds"):
        bg.run_seeds(SOLUTION, seeds=())
    with pytest.raises(LabError, match="seeds"):
        bg.run_seeds(SOLUTION, seeds=(1.5,))


# ---------------------------------------------------------------- the same service on a real redis-py client

def test_replay_on_the_fake_matches_the_model(small):
    config = replace(SOLUTION, l1_ttl=1, maxmemory_mb=4)
    model = bg.simulate_budget(config, small)
    with lab.sandbox("fake", maxmemory="64mb") as r:
        ns = lab.namespace(r, "06")
        real = bg.replay_on_redis(r, ns, config, small)
        assert ns.reset() > 0
    assert all(m == x for _, m, x in bg.compare(model, real))


def test_replay_refuses_the_stream():
    with lab.sandbox("fake") as r:
        with pytest.raises(LabError, match="stream"):
            bg.replay_on_redis(r, lab.namespace(r, "06"), BudgetConfig(invalidation="stream"), bg.small_workload())


@pytest.mark.redis_server
def test_replay_on_a_real_server_matches_the_model(small, fresh_redis_server):
    config = BudgetConfig(ttl=60, l1_ttl=1, invalidation="pubsub", versioned=True, maxmemory_mb=4, shards=2)
    model = bg.simulate_budget(config, small)
    client = fresh_redis_server.client()
    client.config_set("maxmemory", "64mb")
    ns = lab.namespace(client, "06")
    before = client.info("memory")["used_memory"]
    real = bg.replay_on_redis(client, ns, config, small)
    grew = client.info("memory")["used_memory"] - before
    assert all(m == x for _, m, x in bg.compare(model, real)), bg.compare(model, real)
    assert 0 < grew / model.redis_bytes - 1 < 0.4  # the model's memory estimate is a floor
    ns.reset()
    assert client.pubsub_numsub(ns.key("invalidate")) == [(ns.key("invalidate"), 0)]


def test_the_fake_replay_starts_no_thread(small, monkeypatch):
    """Threads only where a real server needs them: the fake path must also run in a browser kernel."""
    def refuse(thread):
        raise AssertionError(f"the fake path started a thread: {thread.name}")

    monkeypatch.setattr(threading.Thread, "start", refuse)
    config = replace(SOLUTION, l1_ttl=1, maxmemory_mb=4)
    with lab.sandbox("fake", maxmemory="64mb") as r:
        ns = lab.namespace(r, "06")
        real = bg.replay_on_redis(r, ns, config, small)
        bg.write_strategies(r, ns, seconds=2.0)
        ns.reset()
    assert real.messages > 0


class _RivalWritesAfterFirstRead:
    """A client whose first read inside a transaction is followed by a rival's write: a lost race."""

    def __init__(self, client, rival_write) -> None:
        self.client, self.rival_write = client, rival_write

    def __getattr__(self, name):
        return getattr(self.client, name)

    def pipeline(self):
        pipe = self.client.pipeline()
        read = pipe.get

        def get(key):
            value = read(key)
            if self.rival_write is not None:
                self.rival_write, write = None, self.rival_write
                write()
            return value

        pipe.get = get
        return pipe


def test_a_versioned_fill_that_loses_a_race_is_decided_again(small):
    """The rival stores version 5 between our WATCH and EXEC: the fill of version 3 re-reads and stands back."""
    config = BudgetConfig(versioned=True)
    with lab.sandbox("fake") as r:
        ns = lab.namespace(r, "t06")
        rival = bg.RedisTier(lab.another_client(r), ns, config, small)
        tier = bg.RedisTier(_RivalWritesAfterFirstRead(r, lambda: rival.set(7, 5, math.inf, 0.0)), ns, config, small)
        assert tier.set(7, 3, math.inf, 0.0, if_newer=True) is False
        assert tier.get(7, 0.0)[VERSION] == 5
        assert tier.set(7, 6, math.inf, 0.0, if_newer=True) is True
        ns.reset()


@pytest.mark.parametrize("stored, expires, filled, stands", [
    (5, math.inf, 3, False),   # an older fill never replaces a newer copy
    (5, math.inf, 5, True),    # the same version may be written again
    (3, math.inf, 5, True),    # a newer fill replaces an older copy
    (5, 10.0, 3, True),        # an expired copy is no copy: the older fill lands
])
def test_the_model_and_the_redis_tier_refuse_the_same_fills(small, stored, expires, filled, stands):
    config = BudgetConfig(versioned=True, maxmemory_mb=4)
    model = bg.ModelRedis(config, small)
    with lab.sandbox("fake") as r:
        tier = bg.RedisTier(r, lab.namespace(r, "t06"), config, small)
        for t in (model, tier):
            t.set(7, stored, expires, 0.0)
            assert t.set(7, filled, math.inf, 20.0, if_newer=True) is stands
            assert t.get(7, 20.0)[VERSION] == (filled if stands else stored)


def test_eviction_standin_is_close_to_the_twin():
    standin, twin = bg.eviction_standin_vs_twin(BudgetConfig(ttl=60, l1_ttl=0, invalidation="pubsub", versioned=True))
    assert 0 <= standin - twin < 0.02


@pytest.mark.parametrize("backend", ["fake", pytest.param("server", marks=pytest.mark.redis_server)])
def test_an_unread_subscribe_confirmation_does_not_hide_a_message(backend):
    if backend == "server":
        need_redis_server()
    with lab.sandbox(backend=backend) as box:
        channel = bg.RedisPubSub(box, lab.namespace(box, "t06"), n_instances=2)
        try:
            channel.subscribers[1].subscribe("entropy-lab:t06:other")  # its confirmation stays unread
            assert channel.publish(7, now=0.0) == [0, 1]
        finally:
            channel.close()


# ---------------------------------------------------------------- write strategies and keying (on a client)

def test_write_strategies_on_the_fake():
    with lab.sandbox("fake") as r:
        ns = lab.namespace(r, "t06")
        results = {x.strategy: x for x in bg.write_strategies(r, ns)}
        assert ns.reset() == 0, "the demo cleans up its keys"
    none, dele, thru, behind = (results[k] for k in bg.WRITE_STRATEGIES)
    assert none.stale_fraction > 0.5 and dele.stale_reads == thru.stale_reads == behind.stale_reads == 0
    assert none.redis_round_trips == 0 and dele.redis_round_trips == thru.redis_round_trips == thru.writes
    assert thru.database_reads < dele.database_reads and thru.unread_copies > 0 == dele.unread_copies
    assert behind.database_writes < thru.database_writes == thru.writes
    assert behind.most_unsaved > 0 and 0 < behind.longest_unsaved <= 5.0
    assert none.most_unsaved == thru.most_unsaved == 0


def test_write_behind_window_follows_the_flush_interval():
    with lab.sandbox("fake") as r:
        ns = lab.namespace(r, "t06")
        fast = bg.write_strategies(r, ns, flush_every=1.0)[-1]
        slow = bg.write_strategies(r, ns, flush_every=10.0)[-1]
    assert fast.longest_unsaved <= 1.0 < slow.longest_unsaved <= 10.0
    assert fast.most_unsaved < slow.most_unsaved and fast.database_writes > slow.database_writes


def test_duplicate_keys_go_stale_and_pointers_do_not():
    with lab.sandbox("fake") as r:
        ns = lab.namespace(r, "t06")
        two, ptr = bg.duplicate_keys(r, ns, n_users=40, updates=10)
        assert ns.reset() == 0
    assert (two.stale_by_email, ptr.stale_by_email) == (10, 0)
    assert two.memory_bytes > 1.5 * ptr.memory_bytes and ptr.round_trips_by_email > two.round_trips_by_email


@pytest.mark.parametrize("call", [
    lambda r, ns: bg.write_strategies(r, ns, n_keys=0),
    lambda r, ns: bg.write_strategies(r, ns, seconds=-1),
    lambda r, ns: bg.write_strategies(r, ns, rate=0),
    lambda r, ns: bg.write_strategies(r, ns, write_share=1.5),
    lambda r, ns: bg.write_strategies(r, ns, flush_every=0),
    lambda r, ns: bg.duplicate_keys(r, ns, n_users=0),
    lambda r, ns: bg.duplicate_keys(r, ns, n_users=5, updates=6),
])
def test_demo_arguments_are_checked(call):
    with lab.sandbox("fake") as r:
        with pytest.raises(LabError):
            call(r, lab.namespace(r, "t06"))


# ---------------------------------------------------------------- input checks: one LabError sentence each

@pytest.mark.parametrize("call, word", [
    (lambda: bg.validate(BudgetConfig(ttl="60")), "ttl"),
    (lambda: bg.validate(BudgetConfig(jitter=None)), "jitter"),
    (lambda: bg.validate(BudgetConfig(l1_ttl="5")), "l1_ttl"),
    (lambda: bg.validate(BudgetConfig(versioned="yes")), "versioned"),
    (lambda: bg.validate(BudgetConfig(maxmemory_mb="2")), "maxmemory_mb"),
    (lambda: bg.validate(BudgetConfig(shards=True)), "shards"),
    (lambda: bg.budget_workload(n_keys=0), "n_keys"),
    (lambda: bg.budget_workload(seconds=0), "seconds"),
    (lambda: bg.budget_workload(rate=-5), "rate"),
    (lambda: bg.budget_workload(instances=0), "instances"),
    (lambda: bg.budget_workload(write_share=2), "write_share"),
    (lambda: bg.budget_workload(burst_every=0), "burst_every"),
    (lambda: bg.budget_workload(outage=(9, 30.0, 50.0)), "instance"),
    (lambda: bg.budget_workload(outage=(3, 50.0, 30.0)), "end"),
    (lambda: bg.budget_workload(outage=(3, 50.0)), "outage"),
    (lambda: bg.budget_workload(value_bytes=(500, 100)), "largest"),
    (lambda: bg.owners(0, 2, "consistent"), "n_keys"),
    (lambda: bg.owners(10, 0, "consistent"), "shards"),
    (lambda: bg.owners(10, 2, "crc"), "hashing"),
    (lambda: bg.entry_bytes(-1), "size"),
    (lambda: bg.simulate_budget(BudgetConfig(), workload="default"), "Workload"),
    (lambda: bg.sweep(BudgetConfig()), "list"),
    (lambda: bg.pareto_front([bg.run(BudgetConfig())], y="staleness"), "staleness"),
    (lambda: bg.pareto_front(["a result"]), "results"),
    (lambda: bg.SLO(max_stale_fraction=0), "max_stale_fraction"),
    (lambda: bg.SLO(min_hit_ratio=90), "min_hit_ratio"),
    (lambda: bg.SLO(max_memory_mb=-1), "max_memory_mb"),
    (lambda: bg.run(BudgetConfig()).energy({"memory_mb": 2.0}), "missing"),
    (lambda: bg.run(BudgetConfig()).energy({**bg.PRICES, "message": -1}), "message"),
    (lambda: bg.seeded_workload(1.5), "seed"),
    (lambda: bg.compare(None, None), "two results"),
])
def test_budget_rejects_bad_input_with_one_sentence(call, word):
    with pytest.raises(LabError, match=word) as info:
        call()
    text = str(info.value)
    assert "\n" not in text and text.endswith(".") and len(text) < 250, text
