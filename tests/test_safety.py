"""On a server the lab did not start, it touches nothing outside its own prefix."""
import time

import pytest

import entropy_lab as lab
from entropy_lab import backends
from entropy_lab.errors import LabError

FOREIGN = {"entropy-lab": "a", "entropy-lab:00": "b", "entropy-lab:000:x": "c", "entropy-lab:0:x": "d",
           "app:user:1": "e", "Entropy-Lab:00:x": "f"}


@pytest.fixture
def learners_redis(monkeypatch, fresh_redis_server):
    client = fresh_redis_server.client()
    client.config_set("maxmemory-policy", "allkeys-lfu")
    client.config_set("maxmemory", "500mb")
    client.mset(FOREIGN)
    monkeypatch.delenv("ENTROPY_LAB_BACKEND", raising=False)
    monkeypatch.setenv("ENTROPY_LAB_REDIS_URL", fresh_redis_server.url)
    return client


def test_lab_operations_leave_foreign_keys_and_config_alone(learners_redis):
    r = lab.connect()
    ns = lab.namespace(r, "00")
    for i in range(50):
        r.set(ns.key("item", i), i)
    assert ns.reset() == 50
    with pytest.raises(LabError):
        backends.apply_config(r, {"maxmemory": "1mb"})
    with lab.sandbox(maxmemory="2mb", maxmemory_policy="noeviction") as private:
        private.flushall()  # allowed: the sandbox is the lab's own server
    assert learners_redis.mget(list(FOREIGN)) == list(FOREIGN.values())
    assert learners_redis.config_get("maxmemory-policy")["maxmemory-policy"] == "allkeys-lfu"
    assert learners_redis.config_get("maxmemory")["maxmemory"] == str(500 * 1024 * 1024)


# ------------------------------------------------------------------ one Redis for the room: real ACLs

import redis  # noqa: E402

from entropy_lab import workshop_server as ws  # noqa: E402
from tests.conftest import need_redis_server  # noqa: E402


def test_acl_rules_allow_only_the_learners_own_keys_and_channels():
    rules = ws.acl_rules("ada", "pw")
    assert rules[:3] == ["reset", "on", ">pw"]
    assert "~entropy-lab:ada:*" in rules and "&entropy-lab:ada:*" in rules
    assert not any(r.startswith("~") and r != "~entropy-lab:ada:*" for r in rules)
    assert rules.index("-@dangerous") > rules.index("+@all")
    with pytest.raises(LabError):
        ws.acl_rules("ada:*", "pw")
    with pytest.raises(LabError):
        ws.acl_rules("ada", "two words")


def test_learner_names():
    assert ws.learner_names(3) == ["learner01", "learner02", "learner03"]
    assert ws.learner_names(120)[-1] == "learner120"
    assert ws.learner_names(0, ["ada", " bob "]) == ["ada", "bob"]
    for bad in (["ada", "ada"], ["a b"], ["default"]):
        with pytest.raises(LabError):
            ws.learner_names(0, bad)


@pytest.fixture(scope="module")
def room():
    need_redis_server()
    room = ws.start_private(["ada", "bob", "cy"])
    yield room
    room.stop()


def as_learner(room, name: str) -> redis.Redis:
    seat = next(s for s in room.seats if s.learner == name)
    return redis.Redis.from_url(seat.url, decode_responses=True, socket_timeout=5)


def test_a_learner_cannot_read_write_or_delete_another_learners_keys(room):
    ada, bob = as_learner(room, "ada"), as_learner(room, "bob")
    bob.set("entropy-lab:bob:00:item:1", "bob's")
    bob.xadd("entropy-lab:bob:02:log", {"k": "v"})
    denied = [lambda: ada.get("entropy-lab:bob:00:item:1"), lambda: ada.set("entropy-lab:bob:00:item:1", "x"),
              lambda: ada.unlink("entropy-lab:bob:00:item:1"), lambda: ada.delete("entropy-lab:bob:00:item:1"),
              lambda: ada.rename("entropy-lab:bob:00:item:1", "entropy-lab:ada:00:stolen"),
              lambda: ada.copy("entropy-lab:bob:00:item:1", "entropy-lab:ada:00:stolen"),
              lambda: ada.xgroup_destroy("entropy-lab:bob:02:log", "svc0"),
              lambda: ada.set("app:user:1", "x"), lambda: ada.set("entropy-lab:00:item:1", "x"),
              lambda: ada.publish("entropy-lab:bob:02:channel", "invalidate:x"),
              lambda: ada.eval("return redis.call('GET', 'entropy-lab:bob:00:item:1')", 0)]
    for command in denied:
        with pytest.raises(redis.ResponseError, match="permission|can't access"):
            command()
    assert bob.get("entropy-lab:bob:00:item:1") == "bob's" and bob.xlen("entropy-lab:bob:02:log") == 1


@pytest.mark.parametrize("command", [("FLUSHALL",), ("FLUSHDB",), ("CONFIG", "SET", "maxmemory", "1mb"),
                                     ("CONFIG", "GET", "requirepass"), ("KEYS", "*"), ("SHUTDOWN", "NOSAVE"),
                                     ("ACL", "SETUSER", "ada", "+@all", "~*"), ("ACL", "LIST"),
                                     ("CLIENT", "KILL", "USER", "bob"), ("MONITOR",), ("SELECT", "1"),
                                     ("SWAPDB", "0", "1"), ("RANDOMKEY",), ("SCRIPT", "FLUSH"),
                                     ("FUNCTION", "FLUSH"), ("SORT", "entropy-lab:ada:l", "BY", "nosort")])
def test_a_learner_cannot_flush_reconfigure_or_administer(room, command):
    admin = redis.Redis.from_url(room.admin_url, decode_responses=True)
    admin.set("entropy-lab:bob:00:keep", "1")
    with pytest.raises(redis.exceptions.NoPermissionError):
        as_learner(room, "ada").execute_command(*command)
    assert admin.get("entropy-lab:bob:00:keep") == "1" and admin.ping()
    assert admin.config_get("maxmemory")["maxmemory"] == "0"


def test_a_learner_can_run_what_the_lessons_need(room):
    ada = as_learner(room, "ada")
    p = "entropy-lab:ada:02:"
    ada.set(p + "k", "v", px=60_000)
    assert ada.get(p + "k") == "v" and 0 < ada.pttl(p + "k") <= 60_000 and ada.ttl(p + "k") > 0
    assert ada.pexpire(p + "k", 50_000) and ada.persist(p + "k") and ada.expire(p + "k", 100)
    assert ada.mset({p + "a": "1", p + "b": "2"}) and ada.mget([p + "a", p + "b"]) == ["1", "2"]
    assert ada.getex(p + "a", px=5000) == "1" and ada.incr(p + "n") == 1 and ada.exists(p + "a") == 1
    assert ada.object("encoding", p + "k") and ada.memory_usage(p + "k") > 0 and ada.type(p + "k") == "string"
    assert ada.touch(p + "k") == 1
    assert p + "k" in ada.scan(0, match=p + "*", count=1000)[1]
    assert ada.dbsize() >= 3 and "keyspace_hits" in ada.info("stats") and ada.info("memory")["used_memory"] > 0
    assert ada.info()["redis_version"].startswith("7")
    with ada.pipeline() as pipe:
        pipe.watch(p + "k")
        pipe.multi()
        pipe.set(p + "k", "w")
        assert pipe.execute() == [True]
    script = ada.register_script("return redis.call('SET', KEYS[1], ARGV[1])")
    assert script(keys=[p + "s"], args=["x"]) == "OK"
    ada.xadd(p + "log", {"key": "k"})
    ada.xgroup_create(p + "log", "svc0", id="0")
    assert ada.xreadgroup("svc0", "c", {p + "log": ">"}, count=10)[0][1][0][1] == {"key": "k"}
    assert ada.xpending(p + "log", "svc0")["pending"] == 1 and ada.xack(p + "log", "svc0", ada.xrange(p + "log")[0][0]) == 1
    assert ada.xtrim(p + "log", maxlen=0) == 1 and ada.xlen(p + "log") == 0
    sub = redis.Redis.from_url(next(s.url for s in room.seats if s.learner == "ada"), decode_responses=True).pubsub()
    sub.subscribe(p + "channel")
    deadline = time.monotonic() + 3
    while ada.pubsub_numsub(p + "channel")[0][1] != 1 and time.monotonic() < deadline:
        sub.get_message(timeout=0.05)
    assert ada.publish(p + "channel", "invalidate:x") == 1
    listener = redis.Redis.from_url(next(s.url for s in room.seats if s.learner == "ada"), decode_responses=True)
    listener_pubsub = listener.pubsub()
    listener_pubsub.subscribe("__redis__:invalidate")  # CLIENT TRACKING's redirect channel (notebook 02)
    sub.close(), listener_pubsub.close(), listener.close()
    assert ada.execute_command("ACL", "WHOAMI") == "ada"
    assert ada.unlink(p + "k", p + "a", p + "b", p + "n", p + "s", p + "log") >= 5


def test_psubscribe_needs_the_learners_whole_pattern(room):
    """Redis 7.0 matches a PSUBSCRIBE pattern literally against the allowed channel patterns."""
    url = next(s.url for s in room.seats if s.learner == "ada")
    whole = redis.Redis.from_url(url, decode_responses=True).pubsub()
    whole.psubscribe("entropy-lab:ada:*")
    assert whole.get_message(timeout=2)["type"] == "psubscribe"
    narrower = redis.Redis.from_url(url, decode_responses=True).pubsub()
    with pytest.raises(redis.exceptions.NoPermissionError):
        narrower.psubscribe("entropy-lab:ada:02:*")
        narrower.get_message(timeout=2)
    whole.close(), narrower.close()


def test_scan_is_not_filtered_by_acls_but_values_are(room):
    """Redis 7.0: SCAN and DBSIZE see every learner's key NAMES (the lab always passes MATCH)."""
    ada, bob = as_learner(room, "ada"), as_learner(room, "bob")
    bob.set("entropy-lab:bob:00:visible-name", "hidden value")
    names = [k for k in ada.scan_iter(match="entropy-lab:bob:*")]
    assert "entropy-lab:bob:00:visible-name" in names
    with pytest.raises(redis.exceptions.NoPermissionError):
        ada.get("entropy-lab:bob:00:visible-name")


def test_the_lab_on_a_learner_url_uses_the_users_prefix_and_leaves_others_alone(room, monkeypatch):
    import entropy_lab as lab

    admin = redis.Redis.from_url(room.admin_url, decode_responses=True)
    admin.mset({"entropy-lab:bob:00:item:1": "b", "entropy-lab:00:item:1": "old"})
    monkeypatch.delenv("ENTROPY_LAB_BACKEND", raising=False)
    monkeypatch.delenv("ENTROPY_LAB_LEARNER", raising=False)
    monkeypatch.setenv("ENTROPY_LAB_REDIS_URL", next(s.url for s in room.seats if s.learner == "cy"))
    r = lab.connect()
    ns = lab.namespace(r, "00")
    assert ns.prefix == "entropy-lab:cy:00:"
    r.mset({ns.key("item", i): i for i in range(20)})
    assert ns.reset() == 20
    assert admin.mget(["entropy-lab:bob:00:item:1", "entropy-lab:00:item:1"]) == ["b", "old"]
    monkeypatch.setenv("ENTROPY_LAB_LEARNER", "bob")  # a learner id that is not this URL's user
    with pytest.raises(LabError, match="may not use keys under entropy-lab:bob:00:"):
        lab.namespace(lab.connect(), "00")


def test_workshop_server_command_line_writes_urls_and_stops(tmp_path):
    import os
    import signal
    import subprocess
    import sys

    need_redis_server()
    out = tmp_path / "room.txt"
    proc = subprocess.Popen([sys.executable, "-m", "entropy_lab", "workshop-server", "--learners", "3",
                             "--out", str(out)], stdout=subprocess.PIPE, text=True)
    try:
        lines = [proc.stdout.readline() for _ in range(3)]
        assert lines[0].startswith("Started a private redis-server") and str(out) in lines[1]
        seats = ws.read_seats(str(out))
        assert [s.learner for s in seats] == ["learner01", "learner02", "learner03"]
        assert oct(os.stat(out).st_mode & 0o777) == "0o600"
        assert "learner" not in out.with_name("room.txt.admin").read_text()
        first = redis.Redis.from_url(seats[0].url, decode_responses=True)
        assert first.execute_command("ACL", "WHOAMI") == "learner01"
        port = first.connection_pool.connection_kwargs["port"]
        with pytest.raises(redis.AuthenticationError):  # the default user needs the admin password
            redis.Redis(port=port).ping()
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=10)
    with pytest.raises(redis.ConnectionError):
        redis.Redis(port=port, socket_connect_timeout=1).ping()


def test_workshop_server_configures_a_server_the_instructor_owns(tmp_path, fresh_redis_server):
    import os

    admin = fresh_redis_server.client()
    admin.set("app:user:1", "keep")
    out = tmp_path / "room.txt"
    out.write_text("an old file anyone could read")
    out.chmod(0o644)
    assert ws.main(["--url", fresh_redis_server.url, "--names", "ada,bob", "--out", str(out)]) == 0
    seats = ws.read_seats(str(out))
    assert oct(os.stat(out).st_mode & 0o777) == "0o600"
    ada = redis.Redis.from_url(seats[0].url, decode_responses=True)
    with pytest.raises(redis.exceptions.NoPermissionError):
        ada.get("app:user:1")
    assert ws.main(["--url", fresh_redis_server.url, "--names", "ada,bob", "--remove"]) == 0
    assert admin.execute_command("ACL", "USERS") == ["default"] and admin.get("app:user:1") == "keep"


def test_workshop_server_bad_input_is_one_sentence_with_a_way_out(tmp_path, capsys):
    """A closed port, an HTTP server, a bad --out: one line on stderr, exit 2, no traceback."""
    import socket
    import threading
    from http.server import BaseHTTPRequestHandler, HTTPServer

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    class Quiet(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

    http = HTTPServer(("127.0.0.1", 0), Quiet)
    threading.Thread(target=http.serve_forever, daemon=True).start()
    try:
        cases = [(["--url", f"redis://127.0.0.1:{closed_port}/0"], "No Redis answers"),
                 (["--url", f"redis://127.0.0.1:{http.server_address[1]}/0"], "fix --url"),
                 (["--out", str(tmp_path / "missing" / "room.txt")], "no folder"),
                 (["--out", str(tmp_path)], "is a folder")]
        for args, words in cases:
            assert ws.main(["--learners", "2", *args]) == 2
            err = capsys.readouterr().err.strip()
            assert words in err and "Traceback" not in err and len(err.splitlines()) == 1, err
    finally:
        http.shutdown()
