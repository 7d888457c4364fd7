"""entropy_lab.monitoring: INFO helpers, the sampler, alert rules, SCAN sampling, the live dashboard."""
from __future__ import annotations

import asyncio
import math
import threading
import time

import pytest

import entropy_lab as lab
from entropy_lab import monitoring as mon
from entropy_lab.checks import check_interval_hit_ratio, check_memory_creep_alert
from entropy_lab.errors import LabError
from tests.conftest import need_redis_server

SANDBOX = dict(maxmemory="4mb", maxmemory_policy="allkeys-lru")


def snap(t, hits, misses, evicted=0, expired=0, commands=0):
    return {"t": t, "keyspace_hits": hits, "keyspace_misses": misses, "evicted_keys": evicted,
            "expired_keys": expired, "total_commands_processed": commands}


def series_of(values, metric="x", dt=0.1):
    return mon.Series([{"t": round((i + 1) * dt, 6), metric: v} for i, v in enumerate(values)])


# --- INFO helpers -------------------------------------------------------------------------

def test_interval_hit_ratio_uses_deltas_not_since_start():
    before, after = snap(0, 9000, 1000), snap(10, 9150, 1050)
    assert mon.interval_hit_ratio(before, after) == pytest.approx(0.75)
    assert mon.since_start_hit_ratio(after) == pytest.approx(9150 / 10200)


def test_interval_hit_ratio_is_none_when_idle_and_refuses_reset_counters():
    assert mon.interval_hit_ratio(snap(0, 5, 5), snap(1, 5, 5)) is None
    with pytest.raises(LabError, match="RESETSTAT"):
        mon.interval_hit_ratio(snap(0, 500, 5), snap(1, 3, 5))


def test_rates_are_per_second():
    rates = mon.rates(snap(0, 0, 0, 0, 0, 0), snap(2, 100, 50, 20, 10, 400))
    assert rates == {"hits_per_s": 50, "misses_per_s": 25, "evicted_per_s": 10, "expired_per_s": 5,
                     "ops_per_s": 200}
    with pytest.raises(LabError):
        mon.rates(snap(1, 0, 0), snap(1, 0, 0))


def test_snapshot_and_explain_on_the_twin():
    r = lab.connect("fake")
    ns = lab.namespace(r, "t05")
    for i in range(50):
        r.set(ns.key(i), "x" * 100, px=None if i % 2 else 10_000)
    r.get(ns.key(1))
    r.get(ns.key("missing"))
    s = mon.snapshot(r)
    assert s["keys"] == 50 and s["expires"] == 25
    assert s["keyspace_hits"] == 1 and s["keyspace_misses"] == 1
    assert s["used_memory"] > 0 and s["maxmemory_policy"]
    text = repr(mon.explain(s, ["used_memory", "used_memory_rss"]))
    assert "not modelled" in text and "used_memory" in text
    assert "in the fake twin" not in repr(mon.explain(s, fake=False))


def test_percentiles():
    p50, p99, top = mon.percentiles([1.0] * 99 + [100.0])
    assert p50 == 1.0 and top == 100.0 and 1.0 < p99 <= 100.0
    assert all(math.isnan(v) for v in mon.percentiles([]))


# --- the sampler and the workload ----------------------------------------------------------

def run_fake(workload, ticks=30):
    with lab.sandbox("fake", **SANDBOX) as sb:
        return mon.run(sb, workload, ticks=ticks, name="x")


def at_whole_second():
    """Start at a whole virtual second: the twin's cron runs on the clock's own phase."""
    from entropy_lab import clock
    now = clock.virtual().time()
    clock.virtual().advance(math.ceil(now) + 1 - now)


def test_lockstep_run_is_deterministic_in_fake_mode():
    at_whole_second()
    a = run_fake(mon.Workload(), ticks=8)
    at_whole_second()
    b = run_fake(mon.Workload(), ticks=8)
    assert a.rows == b.rows
    assert len(a) == 8 and list(a.column("t")) == pytest.approx([0.1 * (i + 1) for i in range(8)])
    assert set(a[0]) == set(mon.COLUMNS)


def test_each_signature_shows_on_its_panel_and_the_rules_separate_them():
    healthy = mon.Workload()
    runs = {"healthy": run_fake(healthy), "creep": run_fake(healthy.but(session_ttl=None)),
            "storm": run_fake(healthy.but(grow_at=3)), "shift": run_fake(healthy.but(shift_at=8)),
            "stampede": run_fake(healthy.but(ttl_jitter=0.0)),
            "latency": run_fake(healthy.but(incident=(8, 9, 10)))}
    rules = [mon.Threshold("hit ratio low", "hit_ratio", below=0.6, for_=2),
             mon.Threshold("evicting", "evicted_per_s", above=100, for_=2),
             mon.Threshold("expiry burst", "expired_per_s", above=1500),
             mon.Spike("p99 spike", "latency_p99_ms", factor=10, baseline=10, for_=2),
             mon.RateOfChange("memory creep", "used_memory_mib", above=0.1, window=20, for_=3)]
    assert mon.fired(rules, runs["healthy"]) == set()
    assert "memory creep" in mon.fired(rules, runs["creep"])
    assert "evicting" in mon.fired(rules, runs["storm"])
    assert "hit ratio low" in mon.fired(rules, runs["shift"])
    assert "expiry burst" in mon.fired(rules, runs["stampede"])
    assert "p99 spike" in mon.fired(rules, runs["latency"])
    # the latency panel's modelled p99 stays at a round trip when nothing big happens
    assert runs["healthy"].column("latency_p99_ms").max() < 1
    assert check_memory_creep_alert(rules[-1], runs)
    assert not check_memory_creep_alert(mon.RateOfChange("rising", "used_memory_mib", above=0.05), runs)


def test_sampler_on_a_real_server(redis_url):
    import redis

    from entropy_lab import clock
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    previous = clock.active()
    clock.use(clock.RealClock())
    try:
        ns = lab.namespace(client, "t05")
        sampler = mon.Sampler(client)
        assert sampler.sample() is None  # the baseline
        client.set(ns.key("a"), "1")
        client.get(ns.key("a"))
        client.get(ns.key("missing"))
        clock.sleep(0.05)
        row = sampler.sample()
        assert row["hit_ratio"] == pytest.approx(0.5) and row["ops_per_s"] > 0
        ns.reset()
    finally:
        clock.use(previous)
        client.close()


# --- alert rules ---------------------------------------------------------------------------

def test_threshold_needs_for_consecutive_samples_and_ignores_nan():
    s = series_of([0, 5, 0, 5, 5, math.nan, 5, 5, 5])
    rule = mon.Threshold("hi", "x", above=1, for_=2)
    firings = mon.evaluate([rule], s)
    assert [(f.start, f.end) for f in firings] == [(0.5, 0.5), (0.8, 0.9)]
    assert mon.evaluate([mon.Threshold("lo", "x", below=-1)], s) == []


def test_rate_of_change_over_a_window():
    s = series_of([0, 1, 2, 3, 3, 3, 3])
    rule = mon.RateOfChange("up", "x", above=6, window=2)
    slopes = rule.slopes(s)
    assert math.isnan(slopes[0]) and slopes[2] == pytest.approx(10)
    assert [(f.start, f.end) for f in mon.evaluate([rule], s)] == [(0.3, 0.4)]
    falling = mon.RateOfChange("down", "x", below=-5)
    assert mon.evaluate([falling], series_of([3, 2, 1])) != []


def test_spike_is_relative_to_the_recent_median():
    rule = mon.Spike("spike", "x", factor=5, baseline=4, for_=1)
    s = series_of([1, 1, 1, 1, 9, 1, math.nan, 100, 100, 100, 100, 100])
    assert rule.breaches(s)[:5] == [False, False, False, False, True]
    assert [(f.start, f.end) for f in mon.evaluate([rule], s)] == [(0.5, 0.5), (0.8, 0.9)]


def test_a_plain_function_is_a_rule_and_bad_lengths_are_reported():
    s = series_of([1, 2, 3])

    def big(series):
        return [v > 2 for v in series.column("x")]

    assert mon.fired([big], s) == {"big"}
    with pytest.raises(LabError, match="one True/False per sample"):
        mon.evaluate([lambda series: [True]], s)


def test_alert_matrix_shows_first_firing_or_dash():
    rule = mon.Threshold("hi", "x", above=1)
    text = repr(mon.alert_matrix({"quiet": series_of([0, 0]), "loud": series_of([0, 2])}, [rule]))
    assert "0.2 s" in text and "-" in text.splitlines()[2]


def test_unknown_column_is_a_lab_error():
    with pytest.raises(LabError, match="no column"):
        series_of([1]).column("nope")


# --- checks --------------------------------------------------------------------------------

def test_check_interval_hit_ratio_verdicts():
    assert check_interval_hit_ratio(mon.interval_hit_ratio)
    assert "since the server started" in str(check_interval_hit_ratio(lambda b, a: mon.since_start_hit_ratio(a)))
    assert "MISS" in str(check_interval_hit_ratio(lambda b, a: 1 - mon.interval_hit_ratio(b, a)))

    def no_idle(b, a):
        hits = a["keyspace_hits"] - b["keyspace_hits"]
        return hits / (hits + a["keyspace_misses"] - b["keyspace_misses"])

    assert "ZeroDivisionError" in str(check_interval_hit_ratio(no_idle))
    assert "None" in str(check_interval_hit_ratio(lambda b, a: None))


def test_check_memory_creep_alert_without_runs_uses_its_own():
    verdict = check_memory_creep_alert(mon.Threshold("never", "evicted_per_s", above=1e9))
    assert not verdict and "misses the creep" in str(verdict)
    assert not check_memory_creep_alert(...)


# --- keyspace sampling ---------------------------------------------------------------------

def test_sample_keyspace_scans_in_batches_and_finds_big_keys():
    with lab.sandbox("fake") as sb:
        ns = lab.namespace(sb, "t05")
        for i in range(300):
            sb.set(ns.key("small", i), "x" * 50, px=None if i % 4 == 0 else 60_000)
        sb.set(ns.key("big"), "y" * 50_000)
        sb.set("foreign", "z")
        report = mon.sample_keyspace(sb, match=ns.pattern(), count=50)
        assert report.sampled == 301 and report.batches >= 6
        assert report.no_ttl == 76 and report.no_ttl_share == pytest.approx(76 / 301)
        assert report.biggest(1)[0][0] == ns.key("big") and report.biggest(1)[0][2] > 50_000
        assert len(report.ttls_s) == 225 and report.ttls_s.max() <= 60
        assert report.bytes_without_ttl() > 50_000
        limited = mon.sample_keyspace(sb, match=ns.pattern(), sample=100, count=50)
        assert limited.sampled == 100


def test_slowlog_is_none_on_the_fake():
    assert mon.slowlog_entries(lab.connect("fake")) is None


# --- the live dashboard: no thread in fake mode, none left after stop ----------------------------

@pytest.fixture
def no_threads(monkeypatch):
    """A process where no thread can start, like a browser kernel (Pyodide)."""
    def refuse(thread):
        raise RuntimeError("can't start new thread")

    monkeypatch.setattr(threading.Thread, "start", refuse)


def test_fake_live_dashboard_runs_in_the_foreground_without_threads(no_threads):
    at_whole_second()
    dash = mon.LiveDashboard(mon.Workload(), SANDBOX, max_ticks=5, pace=0.0)
    dash.start()  # no event loop here (a script): the five ticks run now
    assert len(dash.series) == 5 and not dash.running
    dash.join()
    at_whole_second()
    assert dash.series.rows == run_fake(mon.Workload(), ticks=5).rows  # the samples mon.run takes


def test_fake_live_dashboard_ticks_on_the_event_loop_and_stops_at_once(no_threads):
    async def session():
        dash = mon.LiveDashboard(mon.Workload(), SANDBOX, max_ticks=None, pace=0.0)
        dash.start()
        series = dash.series
        dash.start()  # a second start while running does nothing
        for _ in range(10):  # the kernel idles between cells: the loop runs a tick at a time
            await asyncio.sleep(0)
        ticked = len(dash.series)
        dash.stop()
        for _ in range(5):
            await asyncio.sleep(0)
        return dash, series, ticked

    dash, series, ticked = asyncio.run(session())
    assert dash.series is series and ticked >= 5 and len(dash.series) == ticked and not dash.running
    dash.stop()  # stopping twice is harmless


def test_fake_join_runs_the_ticks_left_and_an_endless_run_asks_for_stop(no_threads):
    async def session():
        finite = mon.LiveDashboard(mon.Workload(), SANDBOX, max_ticks=6, pace=0.0)
        finite.start()
        await asyncio.sleep(0)
        finite.join()
        endless = mon.LiveDashboard(mon.Workload(), SANDBOX, max_ticks=None, pace=0.0)
        endless.start()
        one_sentence(endless.join, "dash.stop()")
        endless.stop()
        return finite, endless

    finite, endless = asyncio.run(session())
    assert len(finite.series) == 6 and not finite.running and not endless.running
    one_sentence(lambda: mon.LiveDashboard(mon.Workload(), SANDBOX).start(), "max_ticks")


def test_live_dashboard_widget_buttons_and_a_failing_workload(no_threads):
    pytest.importorskip("ipywidgets")
    dash = mon.LiveDashboard(mon.Workload(), SANDBOX, max_ticks=2, pace=0.0, redraw_every=0.0)
    box = dash.widget
    start, stop, label = box.children[0].children
    image = box.children[1]
    start.click()
    dash.join()
    assert bytes(image.value).startswith(b"\x89PNG") and "stopped after 2" in label.value
    start.click()
    stop.click()
    assert not dash.running
    broken = mon.LiveDashboard(mon.Workload(), {"maxmemory": "lots"}, max_ticks=2)
    broken.start()
    with pytest.raises(LabError, match="failed"):
        broken.join()
    assert not broken.running


@pytest.mark.redis_server
def test_on_a_real_server_the_run_has_a_thread_and_stop_ends_it(monkeypatch):
    need_redis_server()
    monkeypatch.setenv("ENTROPY_LAB_BACKEND", "server")
    before = set(threading.enumerate())
    dash = mon.LiveDashboard(mon.Workload(), SANDBOX, max_ticks=None)
    dash.start()
    assert len(mon.dashboard_threads()) == 1
    deadline = time.monotonic() + 60  # real ticks: generous for a loaded machine
    while len(dash.series) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    dash.stop(timeout=30)
    assert len(dash.series) >= 2 and not dash.series.latency_modelled
    assert not dash.running and mon.dashboard_threads() == [] and set(threading.enumerate()) <= before


class StoppedWallClock:
    """A wall clock (not virtual) that reads a fixed time, so realigned's arithmetic is exact."""

    virtual = False

    def __init__(self, now: float) -> None:
        self.now = now

    def time(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def test_after_a_slow_tick_the_next_sample_waits_instead_of_catching_up():
    previous = lab.clock.active()
    lab.clock.use(StoppedWallClock(1000.0))
    try:
        on_time = 1000.0 - 0.12  # sample 2 is due 80 ms from now, more than half an interval: keep the grid
        assert mon.realigned(on_time, 1, 0.1) == on_time
        late = 1000.0 - 1.0  # a tick overran by a second: sample 2 moves to half an interval from now
        moved = mon.realigned(late, 1, 0.1)
        assert moved + 2 * 0.1 - 1000.0 == pytest.approx(0.05)
    finally:
        lab.clock.use(previous)
    lab.clock.use(lab.clock.virtual())
    assert mon.realigned(late, 1, 0.1) == late  # virtual time keeps its exact grid
    lab.clock.use(previous)


# --- INFO fields the twin does not model, measured on a real Redis ---------------------------

@pytest.mark.redis_server
def test_fragmentation_fields_on_a_real_server(fresh_redis_server):
    """The shape of mon.MEASURED_FRAGMENTATION: on a near-empty server mem_fragmentation_ratio counts
    the process baseline, allocator_frag_ratio does not; deleting half the keys makes real holes."""
    client = fresh_redis_server.client()

    def ratios():
        time.sleep(0.3)  # Redis refreshes the allocator's figures in its cron (10/s): read after a refresh
        info = client.info("memory")
        return info["used_memory"], info["used_memory_rss"], info["mem_fragmentation_ratio"], info["allocator_frag_ratio"]

    used, rss, frag, alloc = ratios()
    assert frag > 3 and alloc < 1.5 and rss > used
    pipe = client.pipeline(transaction=False)
    for i in range(200_000):
        pipe.set(f"k{i}", "x" * 100)
    pipe.execute()
    used, rss, frag, alloc = ratios()
    assert used > 30 * mon.MiB and frag < 1.8 and alloc < 1.3
    for start in range(0, 200_000, 20_000):
        client.delete(*[f"k{i}" for i in range(start, start + 20_000, 2)])
    half_used, half_rss, frag, alloc = ratios()
    assert half_used < 0.7 * used and half_rss > 0.9 * rss  # the pages stay with the process
    assert alloc > 1.3 and frag > 1.5


@pytest.mark.redis_server
def test_oom_refusals_in_info_and_in_the_workload(fresh_redis_server):
    from entropy_lab import clock

    client = fresh_redis_server.client()
    previous = clock.active()
    clock.use(clock.RealClock())
    try:
        snap = mon.snapshot(client)
        assert snap["errorstat_OOM"] == 0 and snap["total_error_replies"] is not None  # absent = none yet
        # room for the 300 warm items and a few ticks of the leak (30 KB a tick), then refusals
        client.config_set("maxmemory", str(int(client.info("memory")["used_memory"]) + 300 * 1024))
        client.config_set("maxmemory-policy", "noeviction")
        series = mon.run(client, mon.Workload(session_ttl=None), ticks=20, name="oom")
        after = mon.snapshot(client)
    finally:
        clock.use(previous)
        client.close()
    refused = round(sum(series.column("errors_per_s") * (series.column("t") - [0, *series.column("t")[:-1]])))
    assert refused > 0, f"no write refused; memory reached {series.column('used_memory_mib').max():.2f} MiB"
    assert after["errorstat_OOM"] - snap["errorstat_OOM"] == refused
    assert after["total_error_replies"] >= after["errorstat_OOM"]


def test_oom_refusals_are_counted_on_the_twin_and_it_says_it_has_no_error_counters():
    with lab.sandbox("fake", maxmemory="1500kb", maxmemory_policy="noeviction") as sb:
        series = mon.run(sb, mon.Workload(session_ttl=None), ticks=30, name="oom")
        snap = mon.snapshot(sb)
    assert series.column("errors_per_s").max() > 0 and series.column("evicted_per_s").max() == 0
    assert snap["total_error_replies"] is None and snap["errorstat_OOM"] is None
    assert "not modelled" in repr(mon.explain(snap, ["total_error_replies", "errorstat_OOM"]))
    assert run_fake(mon.Workload(), ticks=10).column("errors_per_s").max() == 0


def test_expired_keys_wait_to_be_reclaimed_in_the_healthy_warm_up():
    """The healthy run's early memory rise: Redis holds keys whose TTL has passed (active expiry lag)."""
    at_whole_second()
    series = run_fake(mon.Workload(), ticks=10)
    keys, unexpired = series.column("keys"), series.column("unexpired_keys")
    assert (keys[:4] == unexpired[:4]).all()  # before any TTL ends, every key is alive
    assert (keys - unexpired).max() > 30  # then expired keys pile up
    memory = series.column("used_memory_mib")
    assert memory[6] > memory[4]  # and memory still rises while live keys fall
    assert unexpired[6] < unexpired[4]


def test_modelled_latency_is_labelled_in_tables():
    series = run_fake(mon.Workload(), ticks=3)
    assert series.latency_modelled and "latency_p99_ms (model)" in repr(series.table())
    assert "(model)" not in repr(mon.Series(series.rows).table())


def test_measured_fragmentation_table_says_its_source():
    text = repr(mon.fragmentation_table())
    assert text.count("measured: redis-server 7.0.15") == len(mon.MEASURED_FRAGMENTATION)


def test_leak_at_starts_a_creep_mid_run():
    series = run_fake(mon.Workload(leak_at=10), ticks=30)
    healthy = run_fake(mon.Workload(), ticks=30)
    assert series[-1]["expires"] < series[-1]["keys"] and healthy[-1]["expires"] == healthy[-1]["keys"]
    assert series.column("used_memory_mib")[:10].tolist() == healthy.column("used_memory_mib")[:10].tolist()


# --- input checks: one friendly sentence, never a deep traceback -------------------------------

def one_sentence(call, *words):
    with pytest.raises(LabError) as info:
        call()
    text = str(info.value)
    assert text.endswith(".") and "\n" not in text, text
    for word in words:
        assert word in text, text
    return text


def test_info_helpers_validate_their_input():
    good = snap(0, 1, 1)
    one_sentence(lambda: mon.snapshot("redis://localhost"), "Redis client")
    one_sentence(lambda: mon.explain(good, ["used_memroy"]), "used_memroy", "choose from")
    one_sentence(lambda: mon.explain([1, 2]), "snapshot dict")
    one_sentence(lambda: mon.hit_ratio(-1, 3), "hits")
    one_sentence(lambda: mon.hit_ratio("3", 3), "hits")
    one_sentence(lambda: mon.interval_hit_ratio(good, {"t": 1}), "keyspace_hits", "'after' snapshot")
    one_sentence(lambda: mon.interval_hit_ratio(None, good), "dict")
    one_sentence(lambda: mon.interval_hit_ratio(good, dict(good, keyspace_misses=None)), "not a number")
    one_sentence(lambda: mon.since_start_hit_ratio({}), "keyspace_hits")
    one_sentence(lambda: mon.rates(good, {"t": 1, "keyspace_hits": 2}), "'after' snapshot")
    one_sentence(lambda: mon.modelled_latency_ms(-5), "payload_bytes")
    one_sentence(lambda: mon.percentiles("1, 2"), "list of numbers")
    one_sentence(lambda: mon.percentiles([1, None]), "numbers only")
    assert mon.explain(good, "keyspace_hits")  # one field name alone is fine


def test_workload_knobs_are_checked():
    one_sentence(lambda: mon.Workload(item_ttl=0), "item_ttl")
    one_sentence(lambda: mon.Workload(session_ttl=-1), "session_ttl")
    one_sentence(lambda: mon.Workload(ttl_jitter=1.5), "ttl_jitter")
    one_sentence(lambda: mon.Workload(items=0), "items")
    one_sentence(lambda: mon.Workload(requests=2.5), "requests")
    one_sentence(lambda: mon.Workload(shift_at=-1), "shift_at")
    one_sentence(lambda: mon.Workload(incident=8), "incident")
    one_sentence(lambda: mon.Workload(seed="five"), "seed")
    one_sentence(lambda: mon.Workload().but(session_tll=None), "session_tll", "choose from")
    assert mon.Workload().but(session_ttl=None, leak_at=3).leak_at == 3


def test_run_and_series_check_their_input():
    client = lab.connect("fake")
    one_sentence(lambda: mon.run(client, "healthy"), "mon.Workload")
    one_sentence(lambda: mon.run(client, mon.Workload(), ticks=0), "ticks")
    one_sentence(lambda: mon.run(client, mon.Workload(), ticks=5, interval=0), "interval")
    one_sentence(lambda: mon.run(None, mon.Workload()), "Redis client")
    s = series_of([1, 2, 3])
    one_sentence(lambda: s.column(3), "string")
    one_sentence(lambda: s.table(["t", "nope"]), "no column")
    one_sentence(lambda: s.table(["t"], every=0), "every")
    one_sentence(lambda: mon.sample_keyspace(client, sample=0), "sample")
    one_sentence(lambda: mon.sample_keyspace(client, count=-1), "count")
    one_sentence(lambda: mon.sample_keyspace(client, match=5), "pattern")
    one_sentence(lambda: mon.slowlog_entries(client, count=0), "count")


def test_rules_check_their_settings_when_built():
    one_sentence(lambda: mon.Threshold("x", "hit_ratio"), "above=... or below=")
    one_sentence(lambda: mon.Threshold("x", "hit_ratio", above="high"), "above")
    one_sentence(lambda: mon.Threshold("x", "hit_ratio", below=0.5, for_=0), "for_")
    one_sentence(lambda: mon.Threshold("x", "hit_ratio", below=0.5, for_=2.5), "for_")
    one_sentence(lambda: mon.Threshold("", "hit_ratio", below=0.5), "name")
    one_sentence(lambda: mon.Threshold("x", 5, below=0.5), "metric")
    one_sentence(lambda: mon.RateOfChange("x", "used_memory_mib", above=0.1, window=0), "window")
    one_sentence(lambda: mon.RateOfChange("x", "used_memory_mib", window=10), "above=... or below=")
    one_sentence(lambda: mon.Spike("x", "latency_p99_ms", factor=0), "factor")
    one_sentence(lambda: mon.Spike("x", "latency_p99_ms", baseline=0), "baseline")


def test_evaluation_and_plots_check_their_input():
    rule = mon.Threshold("hi", "x", above=1)
    s = series_of([0, 2])
    one_sentence(lambda: mon.evaluate(rule, s), "list of rules")
    one_sentence(lambda: mon.fired([rule, 42], s), "not a rule")
    one_sentence(lambda: mon.evaluate([rule], [0, 2]), "mon.Series")
    one_sentence(lambda: mon.alert_matrix([s], [rule]), "dict of runs")
    one_sentence(lambda: mon.alert_matrix({"a": [0, 2]}, [rule]), "run 'a'")
    one_sentence(lambda: mon.firing_table([1, 2]), "mon.evaluate")
    one_sentence(lambda: mon.plot_dashboard(s, panels=["memroy"]), "memroy", "choose from")
    one_sentence(lambda: mon.plot_dashboard(s, panels=[]), "panel")
    one_sentence(lambda: mon.plot_dashboard([1], panels=["memory"]), "mon.Series")
    one_sentence(lambda: mon.render_png(s, "t", panels=["nope"]), "nope")
    one_sentence(lambda: mon.LiveDashboard("healthy"), "mon.Workload")
    one_sentence(lambda: mon.LiveDashboard(mon.Workload(), max_ticks=0), "max_ticks")
    one_sentence(lambda: mon.LiveDashboard(mon.Workload(), pace=-1), "pace")
    one_sentence(lambda: mon.LiveDashboard(mon.Workload(), config="4mb"), "config")
    assert mon.dashboard_threads() == []


def test_a_rule_whose_two_bounds_cover_everything_is_refused():
    """above=0.1, below=0.9 fired on every sample, silently."""
    with pytest.raises(LabError, match="so on every sample"):
        mon.Threshold("band", "hit_ratio", above=0.1, below=0.9)
    assert mon.Threshold("band", "hit_ratio", above=0.9, below=0.1).describe()
