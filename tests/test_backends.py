import socket
import time

import pytest
import redis

import entropy_lab as lab
from entropy_lab import backends, clock
from entropy_lab.errors import LabError
from entropy_lab.twin import TwinServer, fake_client


def test_default_backend_is_fake_and_isolated(fake_mode):
    a, b = lab.connect(), lab.connect()
    a.set("k", "1")
    assert lab.backend_of(a) == "fake"
    assert b.get("k") is None  # each connect() gets its own fake server
    assert lab.another_client(a).get("k") == "1"  # another_client shares it


def test_replies_are_str(fake_mode):
    r = lab.connect()
    r.set("k", "v")
    assert r.get("k") == "v"


def test_unknown_backend_is_one_clear_error(monkeypatch):
    monkeypatch.setenv("ENTROPY_LAB_BACKEND", "fakee")
    with pytest.raises(LabError, match="Unknown backend 'fakee'.*fake, live, server"):
        lab.connect()


@pytest.mark.parametrize("url, message", [
    ("redis://:hunter2@127.0.0.1:1/0", "No Redis answers at redis://:\\*\\*\\*@127.0.0.1:1/0"),
    ("http://example/0", "is not a Redis URL"),
])
def test_bad_live_url_fails_fast_and_masks_password(monkeypatch, url, message):
    monkeypatch.delenv("ENTROPY_LAB_BACKEND", raising=False)
    monkeypatch.setenv("ENTROPY_LAB_REDIS_URL", url)
    started = time.monotonic()
    with pytest.raises(LabError, match=message) as info:
        lab.connect()
    assert time.monotonic() - started < 3
    assert "hunter2" not in str(info.value)
    assert "\n" not in str(info.value)


def test_silent_server_fails_within_3_seconds(monkeypatch):
    """A port that accepts connections but never answers (a hung server, a wrong service)."""
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(1)  # the kernel completes the handshake; nobody ever replies
        monkeypatch.delenv("ENTROPY_LAB_BACKEND", raising=False)
        monkeypatch.setenv("ENTROPY_LAB_REDIS_URL", f"redis://127.0.0.1:{silent.getsockname()[1]}/0")
        started = time.monotonic()
        with pytest.raises(LabError, match="No Redis answers"):
            lab.connect()
        assert time.monotonic() - started < 3


def test_live_url_without_password_is_explained(monkeypatch, fresh_redis_server):
    fresh_redis_server.client().config_set("requirepass", "s3cret")
    monkeypatch.delenv("ENTROPY_LAB_BACKEND", raising=False)
    monkeypatch.setenv("ENTROPY_LAB_REDIS_URL", fresh_redis_server.url)
    with pytest.raises(LabError, match="needs a password"):
        lab.connect()
    monkeypatch.delenv("ENTROPY_LAB_BACKEND", raising=False)
    monkeypatch.setenv("ENTROPY_LAB_REDIS_URL", fresh_redis_server.url.replace("//", "//:wrong@"))
    with pytest.raises(LabError, match="refused the password"):
        lab.connect()


def test_live_backend_and_banner(monkeypatch, redis_url, capsys):
    monkeypatch.delenv("ENTROPY_LAB_BACKEND", raising=False)
    monkeypatch.setenv("ENTROPY_LAB_REDIS_URL", redis_url)
    monkeypatch.delenv("ENTROPY_LAB_BACKEND", raising=False)
    r = lab.connect()
    assert lab.backend_of(r) == "live"
    lab.banner(r)
    assert "backend: live" in capsys.readouterr().out
    assert not clock.active().virtual


def test_mask_password():
    assert backends.mask_password("redis://user:pw@h:1/0") == "redis://user:***@h:1/0"
    assert backends.mask_password("redis://h:1/0") == "redis://h:1/0"


def test_server_backend_owns_and_stops_its_process(monkeypatch):
    from tests.conftest import need_redis_server
    need_redis_server()
    r = lab.connect("server")
    owner = backends.owner_of(r)
    assert isinstance(owner, backends.ServerBackend)
    assert r.ping() and owner.server.running
    lab.close(r)
    assert not owner.server.running


def test_sandbox_refuses_to_reconfigure_live_clients(monkeypatch, redis_url):
    monkeypatch.delenv("ENTROPY_LAB_BACKEND", raising=False)
    monkeypatch.setenv("ENTROPY_LAB_REDIS_URL", redis_url)
    r = lab.connect("live")
    with pytest.raises(LabError, match="never reconfigures"):
        backends.apply_config(r, {"maxmemory": "1mb"})


def test_sandbox_fake_applies_config_on_its_own_server(fake_mode):
    with lab.sandbox(maxmemory_policy="allkeys-lru") as r:
        assert lab.backend_of(r) == "fake"
        r.set("x", "1")
    assert lab.connect().get("x") is None


def test_sandbox_in_live_mode_uses_a_private_server(monkeypatch, redis_url):
    monkeypatch.delenv("ENTROPY_LAB_BACKEND", raising=False)
    monkeypatch.setenv("ENTROPY_LAB_REDIS_URL", redis_url)
    live = redis.Redis.from_url(redis_url, decode_responses=True)
    before = live.config_get("maxmemory")
    with lab.sandbox(maxmemory="3mb") as r:
        assert lab.backend_of(r) == "server"
        assert r.config_get("maxmemory")["maxmemory"] == str(3 * 1024 * 1024)
    assert live.config_get("maxmemory") == before


def test_missing_redis_server_binary_says_how_to_install(monkeypatch):
    monkeypatch.setattr("shutil.which", lambda name: None)
    with pytest.raises(LabError, match="apt-get install redis-server.*brew install redis.*conda"):
        lab.connect("server")


# ------------------------------------------------------------------ one sentence, never a traceback (issue 15)

def test_a_password_in_the_query_string_is_masked(monkeypatch):
    monkeypatch.delenv("ENTROPY_LAB_BACKEND", raising=False)
    monkeypatch.setenv("ENTROPY_LAB_REDIS_URL", "redis://127.0.0.1:1/0?password=hunter2")
    with pytest.raises(LabError, match="No Redis answers") as info:
        lab.connect()
    assert "hunter2" not in str(info.value) and "password=***" in str(info.value)


@pytest.mark.parametrize("url", ["redis://:hunter2@127.0.0.1:99999/0", "redis://u:hunter2@127.0.0.1:abc/0",
                                 "redis://:hunter2@[::1/0", "redis://u:hun@ter2@h:1/0?pass=hunter2&db=1"])
def test_mask_password_never_raises_and_never_shows_it(url):
    shown = backends.mask_password(url)
    assert "hunter2" not in shown and "ter2" not in shown and "***" in shown


@pytest.mark.parametrize("port", ["99999", "abc", "-1"])
def test_bad_port_with_a_password_is_one_sentence(monkeypatch, port):
    monkeypatch.delenv("ENTROPY_LAB_BACKEND", raising=False)
    monkeypatch.setenv("ENTROPY_LAB_REDIS_URL", f"redis://:hunter2@127.0.0.1:{port}/0")
    with pytest.raises(LabError, match="is not a Redis URL") as info:
        lab.connect()
    assert "hunter2" not in str(info.value)


def test_a_peer_that_speaks_http_is_one_sentence(monkeypatch):
    import threading

    with socket.socket() as web:
        web.bind(("127.0.0.1", 0))
        web.listen()

        def answer() -> None:
            conn, _ = web.accept()
            with conn:
                conn.recv(1000)
                conn.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
                time.sleep(2)

        threading.Thread(target=answer, daemon=True).start()
        monkeypatch.delenv("ENTROPY_LAB_BACKEND", raising=False)
        monkeypatch.setenv("ENTROPY_LAB_REDIS_URL", f"redis://127.0.0.1:{web.getsockname()[1]}/0")
        with pytest.raises(LabError, match="does not speak Redis"):
            lab.connect()


@pytest.mark.parametrize("value", [None, [1], {"a": 1}])
def test_sandbox_with_a_value_redis_cannot_take_is_one_sentence(fake_mode, value):
    with pytest.raises(LabError, match="not a setting Redis accepts"):
        with lab.sandbox(maxmemory=value):
            pass


def test_sandbox_turns_booleans_into_yes_no(fake_mode):
    with lab.sandbox(lazyfree_lazy_eviction=True) as box:
        assert box.ping()


def test_live_banner_names_the_learner(monkeypatch, redis_url, capsys):
    monkeypatch.delenv("ENTROPY_LAB_BACKEND", raising=False)
    monkeypatch.setenv("ENTROPY_LAB_REDIS_URL", redis_url)
    monkeypatch.setenv("ENTROPY_LAB_LEARNER", "ada")
    lab.banner(lab.connect())
    assert "learner: ada (keys under entropy-lab:ada:)" in capsys.readouterr().out


def test_fake_banner_does_not_name_a_learner(fake_mode, monkeypatch, capsys):
    monkeypatch.setenv("ENTROPY_LAB_LEARNER", "ada")
    lab.banner(lab.connect())
    assert "learner" not in capsys.readouterr().out


def test_a_bad_learner_id_fails_at_connect(monkeypatch, redis_url):
    monkeypatch.delenv("ENTROPY_LAB_BACKEND", raising=False)
    monkeypatch.setenv("ENTROPY_LAB_REDIS_URL", redis_url)
    monkeypatch.setenv("ENTROPY_LAB_LEARNER", "ada lovelace")
    with pytest.raises(LabError, match="not a learner id"):
        lab.connect()


# ------------------------------------------------------------------ backends as objects (issue 16)

def test_no_attribute_is_written_onto_a_client(fake_mode):
    r = lab.connect()
    assert lab.backend_of(r) == "fake"  # found in the weak map, not on the client
    for client in (r, lab.another_client(r)):
        assert not [name for name in vars(client) if name.startswith("entropy_lab")]


def test_clients_the_lab_did_not_make_are_named_by_what_they_are():
    import fakeredis

    assert backends.backend_of(fakeredis.FakeRedis()) == "fake"  # never mistaken for a live server
    assert backends.backend_of(redis.Redis()) == "live"  # unknown real server: never reconfigured
    assert backends.owner_of(redis.Redis()) is None


def test_the_weak_map_does_not_keep_a_client_alive(fake_mode):
    import gc
    import weakref

    backend = backends.FakeBackend()
    gone = weakref.ref(backend.client())
    gc.collect()
    assert gone() is None


def test_each_backend_owns_its_clock():
    own = clock.VirtualClock(start=100.0)
    fake = backends.FakeBackend(clock=own)
    r = fake.client()
    r.set("k", "v", ex=10)
    own.sleep(9)
    assert r.get("k") == "v" and backends.clock_of(r) is own
    own.sleep(2)
    assert r.get("k") is None
    assert isinstance(own, clock.Clock) and isinstance(clock.RealClock(), clock.Clock)


def test_another_client_shares_the_server_and_close_closes_the_backend(fake_mode):
    fake = backends.FakeBackend(config={"maxmemory": "1mb"})
    a = fake.client()
    b = lab.another_client(a)
    a.set("k", "v")
    assert b.get("k") == "v" and b.config_get("maxmemory") == {"maxmemory": "1048576"}
    assert backends.owner_of(b) is fake and lab.backend_of(b) == "fake"
    fake.close()
    assert b.get("k") == "v"  # closing drops connections, not the embedded data


def test_a_server_backend_stops_only_the_server_it_started(fresh_redis_server):
    borrowed = backends.ServerBackend(fresh_redis_server)
    client = borrowed.client()
    assert lab.backend_of(client) == "server" and client.ping()
    lab.close(client)
    assert fresh_redis_server.running  # the test's server: the test stops it
    owned = backends.ServerBackend()
    owned.client().ping()
    owned.close()
    assert not owned.server.running


def test_connect_makes_the_backends_clock_the_lab_clock(fake_mode):
    r = lab.connect()
    assert clock.active() is backends.clock_of(r) and clock.active().virtual


@pytest.fixture
def no_threads_processes_or_sockets(monkeypatch):
    """What a browser kernel (Pyodide) lacks: any attempt to use one fails the test."""
    import subprocess
    import threading

    def refuse(*args, **kwargs):
        raise AssertionError("the fake path tried to start a thread, a process or a socket")

    monkeypatch.setattr(threading.Thread, "start", refuse)
    monkeypatch.setattr(subprocess.Popen, "__init__", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)


def test_the_fake_path_needs_no_thread_process_or_socket(fake_mode, no_threads_processes_or_sockets):
    from entropy_lab import eviction as ev
    from entropy_lab.cluster import start_cluster

    r = lab.connect()
    lab.another_client(r).set("k", "v")
    lab.banner(r)
    with lab.sandbox(maxmemory="1mb", maxmemory_policy="allkeys-lru") as box:
        assert ev.fill(box, 2000, 1024).evicted_keys > 0
        assert len(ev.eviction_order(box, ev.PREDICTION_KEYS, ev.PREDICTION_POLICY, ev.PREDICTION_EVICT)) == 3
    with ev.twin_sandbox(maxmemory="2mb") as box:
        assert ev.lru_survival(box, samples=5).evicted > 0
    cluster = start_cluster(masters=3)
    cluster.client().set("k", "v")
    assert cluster.add_master(probe_keys=["k"]).slots_moved > 0
    cluster.stop()
    lab.close(r)


def test_a_twin_client_the_lab_did_not_make_keeps_its_own_clock():
    own = clock.VirtualClock()
    client = fake_client(TwinServer(clock=own))
    assert backends.clock_of(client) is own


@pytest.mark.parametrize("not_a_client", [None, "redis://127.0.0.1:6379/0", 42])
def test_something_that_is_not_a_client_gets_one_sentence(not_a_client):
    """r left as None or a URL after a failed cell: a LabError, not a weakref TypeError."""
    import entropy_lab as lab
    from entropy_lab import eviction as ev
    from entropy_lab import invalidation as inv
    from entropy_lab.errors import LabError

    for call in (lambda c: lab.backend_of(c), lambda c: lab.banner(c), lambda c: lab.namespace(c, "02"),
                 lambda c: lab.close(c), lambda c: ev.source_of(c), lambda c: ev.fill(c, 10),
                 lambda c: inv.clear_prefix(c, "x")):
        with pytest.raises(LabError, match="needs a Redis client"):
            call(not_a_client)


def test_a_server_lost_mid_lesson_is_one_sentence_in_a_notebook(monkeypatch, capsys):
    """lab.connect on a real server teaches IPython to show redis-py's ConnectionError and
    TimeoutError as one sentence with a way out, not a traceback."""
    import IPython
    import redis

    from entropy_lab.backends import choose

    registered = {}

    class Shell:
        def set_custom_exc(self, types, handler):
            registered["types"], registered["handler"] = types, handler

    monkeypatch.setattr(IPython, "get_ipython", lambda: Shell())
    choose.explain_lost_servers()
    assert registered["types"] == (redis.ConnectionError, redis.TimeoutError)
    error = redis.ConnectionError("Error 111 connecting to 127.0.0.1:6399. Connection refused.")
    registered["handler"](Shell(), type(error), error, None)
    shown = capsys.readouterr().out.strip()
    assert shown.startswith("Redis stopped answering (ConnectionError: Error 111") and "lab.connect()" in shown
    assert "\n" not in shown
