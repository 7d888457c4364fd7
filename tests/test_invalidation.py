"""Invalidation helpers: messages, services with L1, pub/sub threads, streams, the race."""
from __future__ import annotations

import threading
import time
from pathlib import Path

import matplotlib
import nbformat
import pytest
from hypothesis import given, strategies as st

import entropy_lab as lab
from entropy_lab import invalidation as inv
from entropy_lab import namespaces
from entropy_lab.backends import ServerBackend
from entropy_lab.errors import LabError
from entropy_lab.truth import SourceOfTruth
from tests.notebook_runner import run_learner_copy_with_knob


@pytest.fixture
def fake(fake_mode):
    client = lab.connect("fake")
    yield client, lab.namespace(client, "t02")


@pytest.fixture
def real(redis_url, monkeypatch):
    monkeypatch.setenv("ENTROPY_LAB_REDIS_URL", redis_url)
    client = lab.connect("live")
    ns = lab.namespace(client, "t02")
    ns.reset()
    yield client, ns
    ns.reset()
    client.close()


# ---- messages ------------------------------------------------------------------------------

keys = st.text(alphabet="ab:{}*?[]\\ 1é", min_size=1, max_size=20)


@given(kind=st.sampled_from(inv.KINDS), target=keys)
def test_message_round_trip_keeps_keys_with_colons(kind, target):
    assert inv.parse_message(inv.format_message(kind, target)) == (kind, target)


def test_the_articles_subscriber_silently_skips_keys_without_exactly_one_colon(fake_mode, capsys):
    with lab.sandbox() as s:
        keys = ["user:42", "user42", "tenant:7:user:42", "news:item:1", "newsletter:1"]
        for key in keys:
            s.set(key, "old")
        for key in keys[:3]:
            inv.article_on_message(s, f"invalidate:{key}")   # never raises
        inv.article_on_message(s, "refresh_all:news")
        inv.article_on_message(s, "refresh_all:product")
        left = sorted(k for k in keys if s.exists(k))
    assert left == ["newsletter:1", "tenant:7:user:42", "user42"]
    out = capsys.readouterr().out
    assert "Deleted key: 'user:42'" in out and "Deleted news key: news:item:1" in out
    assert "Unrecognized invalidation command: refresh_all:product" in out
    assert "user42'" not in out.split("Received invalidation message: 'invalidate:user42'")[1].split("Received")[0]


@pytest.mark.parametrize("text", ["invalidate", "delete:user:1", "invalidate:", "", ":x"])
def test_bad_messages_are_refused_with_one_sentence(text):
    with pytest.raises(LabError):
        inv.parse_message(text)


def test_apply_message_handles_the_three_kinds_and_any_prefix():
    l1 = {"a:user:1": "1", "a:user:2": "2", "a:users:3": "3", "a:product:1": "p", "a:product:2": "q"}
    shared = {"a:product:1": "p2"}
    inv.apply_message(l1, "invalidate:a:user:1", shared.get)
    inv.apply_message(l1, "update:a:product:1", shared.get)
    inv.apply_message(l1, "update:a:product:2", shared.get)  # gone from the shared cache: drop it
    assert l1 == {"a:user:2": "2", "a:users:3": "3", "a:product:1": "p2"}
    inv.apply_message(l1, "refresh_all:a:user:", shared.get)
    assert l1 == {"a:users:3": "3", "a:product:1": "p2"}
    inv.apply_message(l1, "refresh_all:a:product:", shared.get)
    assert l1 == {"a:users:3": "3"}


# ---- KEYS vs SCAN (prefix clears: test_namespaces.py) ---------------------------------------

@pytest.mark.redis_server
def test_two_kernels_of_one_learner_each_get_every_log_entry(real, monkeypatch):
    client, ns = real
    a, truth = _service(client, ns, "worker")
    b = inv.Service("worker", client, ns, truth)           # the same instance name, another kernel
    log = inv.InvalidationLog(client, ns.key("shared-log"))
    first = inv.LogReader(a, log)
    monkeypatch.setattr(namespaces, "KERNEL", "otherkernel")
    second = inv.LogReader(b, log)
    assert first.group != second.group and second.group.endswith("@otherkernel")
    publisher = inv.Publisher(client, log=log)
    for i in range(4):
        publisher.invalidate(ns.key("item", i))
    assert first.catch_up() == second.catch_up() == 4


@pytest.mark.redis_server
def test_refresh_all_outside_the_learners_keys_is_refused(real):
    client, ns = real
    client.set("user:1", "not ours")
    try:
        with pytest.raises(LabError, match="only its own keys"):
            inv.Publisher(client, ns.key("ch")).refresh_all("user:")
        assert client.get("user:1") == "not ours"
    finally:
        client.delete("user:1")


def test_fake_mode_group_names_are_stable(fake):
    client, ns = fake
    svc, _ = _service(client, ns, "worker")
    assert inv.LogReader(svc, inv.InvalidationLog(client, ns.key("log"))).group == "worker"


def test_keys_returns_everything_in_one_reply_scan_in_batches(fake):
    client, ns = fake
    client.mset({ns.key("k", i): "v" for i in range(2000)})
    result = inv.keys_vs_scan(client, ns.pattern(), count=100)
    assert result.keys_reply == result.scan_total == 2000
    assert result.scan_calls >= 2000 // 300 and result.scan_largest_batch <= 300


# ---- services, pub/sub, threads ------------------------------------------------------------

def _service(client, ns, name="a", **kw):
    truth = SourceOfTruth()
    truth.write("item:1", "v1", 0.0)
    return inv.Service(name, client, ns, truth, **kw), truth


def test_service_reads_l1_then_redis_then_truth(fake):
    client, ns = fake
    svc, truth = _service(client, ns)
    assert svc.read("item:1", 0.0).source == "truth"
    assert svc.read("item:1", 0.0).source == "l1"
    svc.l1.clear()
    assert svc.read("item:1", 0.0).source == "redis"
    truth.write("item:1", "v2", 1.0)
    stale = svc.read("item:1", 3.5)
    assert stale.stale and stale.age == pytest.approx(2.5)


def test_ttl_counts_from_the_fill_in_both_layers(fake):
    client, ns = fake
    svc, truth = _service(client, ns, ttl=5.0)
    svc.read("item:1", 0.0)
    truth.write("item:1", "v2", 1.0)
    assert svc.read("item:1", 4.9).stale
    assert svc.read("item:1", 5.0).source == "truth"


def _subscriber_roundtrip(client, ns, thread):
    channel = ns.key("channel")
    services = [_service(client, ns, name)[0] for name in "ab"]
    key = ns.key("item:1")
    before = threading.active_count()
    subs = [inv.Subscriber(s, channel).start(thread=thread) for s in services]
    for s in services:
        s.read("item:1", 0.0)
    publisher = inv.Publisher(client, channel)
    assert publisher.invalidate(key) == 2
    for sub in subs:
        assert sub.wait_for(1) if thread else sub.pump(1) == 1
    assert all(key not in s.l1 for s in services)
    assert inv.subscriber_threads() == (2 if thread else 0)
    for sub in subs:
        sub.stop()
    assert threading.active_count() == before and inv.subscriber_threads() == 0
    # A real server frees a closed connection at the end of its event-loop turn (freeClientAsync):
    # a PUBLISH read in the same turn as the close would still count it. Give it that turn.
    deadline = time.monotonic() + 2
    while client.pubsub_numsub(channel) != [(channel, 0)] and time.monotonic() < deadline:
        time.sleep(0.01)
    assert publisher.invalidate(key) == 0  # nobody listens any more: the message is lost
    return subs


@pytest.mark.parametrize("thread", [True, False])
def test_subscribers_apply_messages_and_stop_cleanly_on_the_fake(fake, thread):
    client, ns = fake
    subs = _subscriber_roundtrip(client, ns, thread)
    assert all(not s.running and s.received == 1 for s in subs)


@pytest.mark.redis_server
@pytest.mark.parametrize("thread", [True, False])
def test_no_thread_or_connection_is_left_after_subscribers_stop(real, thread):
    client, ns = real
    client.ping()
    connections_before = len(client.client_list())
    threads_before = threading.active_count()
    _subscriber_roundtrip(client, ns, thread)
    assert threading.active_count() == threads_before
    assert len(client.client_list()) == connections_before
    assert client.pubsub_numsub(ns.key("channel")) == [(ns.key("channel"), 0)]


def test_a_bad_message_does_not_kill_the_subscriber_thread(fake):
    client, ns = fake
    svc, _ = _service(client, ns)
    with inv.Subscriber(svc, ns.key("ch")) as sub:
        client.publish(ns.key("ch"), "nonsense")
        client.publish(ns.key("ch"), inv.format_message("invalidate", ns.key("item:1")))
        assert sub.wait_for(2)
    assert len(sub.errors) == 1 and "nonsense" in sub.errors[0]


def test_update_and_refresh_all_reach_every_l1(fake):
    client, ns = fake
    a, truth = _service(client, ns, "a")
    b = inv.Service("b", client, ns, truth)
    for s in (a, b):
        s.read("item:1", 0.0)
    subs = [inv.Subscriber(s, ns.key("ch")).start(thread=False) for s in (a, b)]
    publisher = inv.Publisher(client, ns.key("ch"))
    new = truth.write("item:1", "v2", 1.0)
    publisher.update(ns.key("item:1"), inv.encode_copy(new, 1.0))
    for sub in subs:
        sub.pump(1)
    assert [s.read("item:1", 2.0).value for s in (a, b)] == ["v2", "v2"]
    publisher.refresh_all(ns.key("item:"))
    for sub in subs:
        sub.pump(1)
        sub.stop()
    assert len(a.l1) == len(b.l1) == 0 and client.get(ns.key("item:1")) is None


# ---- the durable log -----------------------------------------------------------------------

def _stream_replay(client, ns):
    a, truth = _service(client, ns, "a")
    log = inv.InvalidationLog(client, ns.key("log"))
    reader = inv.LogReader(a, log)
    a.read("item:1", 0.0)
    publisher = inv.Publisher(client, log=log)
    publisher.invalidate(ns.key("item:1"))
    publisher.refresh_all(ns.key("nothing:"))
    assert ns.key("item:1") in a.l1          # away: nothing applied yet
    assert reader.catch_up() == 2            # back: replays both
    assert ns.key("item:1") not in a.l1
    assert reader.pending() == 0 and reader.catch_up() == 0
    inv.LogReader(a, log)                    # a second start does not reset the group
    a.read("item:1", 0.0)
    publisher.invalidate(ns.key("item:1"))
    client.xreadgroup(reader.group, "1", {log.key: ">"})   # delivered, then the instance "crashes"
    assert reader.pending() == 1 and ns.key("item:1") in a.l1
    assert reader.catch_up() == 0               # nothing new ...
    assert reader.catch_up(pending=True) == 1   # ... but the pending entry comes back
    assert reader.pending() == 0 and ns.key("item:1") not in a.l1


def test_stream_reader_replays_what_it_missed_on_the_fake(fake):
    _stream_replay(*fake)


@pytest.mark.redis_server
def test_stream_reader_replays_what_it_missed_on_redis(real):
    _stream_replay(*real)


# ---- the race ------------------------------------------------------------------------------

def _race(client, ns, fill, versioned):
    replay = inv.replay_race(client, ns, fill=fill, versioned=versioned)
    assert replay.stored == (not versioned)
    return replay.state


@pytest.mark.parametrize("where", ["fake", "real"])
def test_race_is_reproduced_and_closed_by_versioned_writes(where, request):
    if where == "real":
        client, ns = request.getfixturevalue("real")
    else:
        client, ns = request.getfixturevalue("fake")
    assert "STALE" in _race(client, ns, inv.plain_fill, versioned=False)
    ns.reset()
    assert "tombstone v2" in _race(client, ns, inv.versioned_fill, versioned=True)


@pytest.mark.redis_server
def test_lua_fill_is_the_same_compare_and_set(real):
    client, ns = real
    fill = inv.lua_versioned_fill(client)
    assert "tombstone v2" in _race(client, ns, fill, versioned=True)


# ---- server-assisted -----------------------------------------------------------------------

def _events(r):
    r.set("k1", "v")
    r.delete("k1")
    r.set("k2", "v", px=50)
    lab.sleep(0.2)
    r.get("k2")


def test_keyspace_events_on_the_fake(fake_mode):
    with lab.sandbox(notify_keyspace_events="Egx") as s:
        events = inv.keyspace_events(s, _events)
    assert ("del", "k1") in events


@pytest.mark.redis_server
def test_keyspace_events_and_tracking_on_redis(fresh_redis_server):
    s = ServerBackend(fresh_redis_server).client()
    s.config_set("notify-keyspace-events", "Egx")
    events = inv.keyspace_events(s, lambda r: (r.set("k1", "v"), r.delete("k1"), r.set("k2", "v", px=20),
                                               time.sleep(0.15), r.get("k2")))
    assert events == [("del", "k1"), ("expire", "k2"), ("expired", "k2")]
    pushed = inv.tracking_invalidations(s, "tracked", writes=2)
    assert pushed == [["tracked"]]


# ---- the harness ---------------------------------------------------------------------------

SMALL = inv.Scenario(n_keys=20, seconds=6.0, rate=40, outage=(2.0, 4.0), fill_delay=0.25, seed=3)


def _outcomes(client, ns, scenario=SMALL):
    return {o.strategy: o for o in inv.compare_strategies(client, ns, scenario=scenario)}


def test_harness_orders_the_strategies_and_cleans_up(fake):
    client, ns = fake
    threads = threading.active_count()
    out = _outcomes(client, ns)
    assert out["pub/sub"].lost > 0 and out["stream"].lost == 0
    assert out["no invalidation"].messages == 0 and out["pub/sub"].messages == out["stream"].messages > 0
    assert out["TTL only"].worst_age <= 5.0 + SMALL.fill_delay
    assert out["stream + versioned writes"].stale_reads <= out["stream"].stale_reads
    assert out["no invalidation"].round_trips < out["pub/sub"].round_trips < out["stream + versioned writes"].round_trips
    assert list(ns.scan()) == []
    assert threading.active_count() == threads


def test_versioned_writes_remove_race_staleness_without_an_outage(fake):
    client, ns = fake
    scenario = inv.Scenario(outage=None, seed=2)
    plain, versioned = inv.compare_strategies(client, ns, [inv.Strategy("s", "stream"),
                                                           inv.Strategy("v", "stream", versioned=True)], scenario)
    # what is left with versions is the delivery delay (a model): L1 copies read before the message arrives
    assert plain.stale_reads > 0 and versioned.stale_reads == len(versioned.in_flight) > 0
    assert versioned.worst_age < scenario.delivery_delay
    instant = inv.Scenario(outage=None, seed=2, delivery_delay=0.0)
    (at_once,) = inv.compare_strategies(client, ns, [inv.Strategy("v", "stream", versioned=True)], instant)
    assert at_once.stale_reads == 0 and at_once.in_flight == []


def test_a_longer_delivery_delay_serves_more_stale_reads_and_loses_in_flight_messages(fake):
    client, ns = fake
    pubsub = [inv.Strategy("p", "pubsub", versioned=True)]
    short, long_ = (inv.compare_strategies(client, ns, pubsub, inv.Scenario(delivery_delay=d))[0] for d in (0.05, 1.0))
    assert len(long_.in_flight) > len(short.in_flight) and long_.stale_reads > short.stale_reads
    assert long_.lost > short.lost   # messages still in flight when the connection drops are lost too


@pytest.mark.parametrize("bad", [dict(services=0), dict(outage=(5.0, 5.0)), dict(delivery_delay=-1)])
def test_a_bad_scenario_is_one_sentence(bad):
    with pytest.raises(LabError):
        inv.Scenario(**bad)


@pytest.mark.redis_server
def test_harness_gives_the_same_numbers_on_redis(fake, real):
    fake_out = _outcomes(*fake)
    real_out = _outcomes(*real)
    for name, o in fake_out.items():
        r = real_out[name]
        assert (o.reads, o.stale_reads, o.worst_age, o.messages, o.lost, o.round_trips, o.source_reads) == \
               (r.reads, r.stale_reads, r.worst_age, r.messages, r.lost, r.round_trips, r.source_reads), name


# ---- a learner's changed knobs -------------------------------------------------------------

SCENARIO_KNOB = "scenario = inv.Scenario(services=2, outage=(6.0, 12.0), delivery_delay=0.05, seed=3)"


@pytest.mark.parametrize("changed", [
    "scenario = inv.Scenario(services=3, outage=(2.0, 16.0), delivery_delay=0.5, seed=11)",
    "scenario = inv.Scenario(services=1, outage=None, delivery_delay=0, seed=5)",
], ids=["three-instances-long-outage-slow-delivery", "one-instance-no-outage-instant-delivery"])
def test_notebook_runs_with_a_learners_scenario(changed):
    run_learner_copy_with_knob("02_invalidation", SCENARIO_KNOB, changed)


# ---- threads only where a real server needs them -------------------------------------------

def test_notebook_02_runs_on_the_fake_without_starting_a_thread(fake_mode, monkeypatch):
    """A browser kernel (Pyodide) cannot start threads: every fake-mode cell must do without."""
    def no_threads(thread):
        raise AssertionError(f"a thread was started: {thread!r}")

    matplotlib.use("Agg")
    notebooks = Path(__file__).resolve().parent.parent / "notebooks"
    monkeypatch.chdir(notebooks)
    monkeypatch.setattr(threading.Thread, "start", no_threads)
    scope = {"__name__": "__main__"}
    for number, cell in enumerate(nbformat.read(notebooks / "02_invalidation.ipynb", as_version=4).cells):
        if cell.cell_type == "code":
            exec(compile(cell.source, f"02_invalidation cell {number}", "exec"), scope)
    assert inv.subscriber_threads() == 0


def test_a_transport_typo_or_a_lone_strategy_is_one_sentence(fake_mode):
    """'Pubsub' used to fail deep inside the replay with an IndexError."""
    from entropy_lab.errors import LabError

    for typo in ("Pubsub", "pubsbu", "streams"):
        with pytest.raises(LabError, match="not a transport"):
            inv.Strategy("mine", typo)
    client = lab.connect()
    ns = lab.namespace(client, "02")
    with pytest.raises(LabError, match="a list of strategies"):
        inv.compare_strategies(client, ns, inv.Strategy("mine", "pubsub"))
    with pytest.raises(LabError, match="inv.Strategy objects"):
        inv.compare_strategies(client, ns, ["pubsub"])


@pytest.mark.parametrize("cached", ["garbage", "", b"\xff", '{"a": 1}', 5])
def test_version_of_something_the_lab_did_not_cache_is_one_sentence(cached):
    with pytest.raises(LabError, match="not a copy the lab cached"):
        inv.version_of(cached)


@pytest.mark.parametrize("message", [None, 5, b"invalidate:user:42"])
def test_a_message_that_is_not_text_is_one_sentence(message):
    with pytest.raises(LabError, match="an invalidation message is text"):
        inv.parse_message(message)
